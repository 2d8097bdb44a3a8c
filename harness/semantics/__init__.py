"""The one place where framework semantics live: each framework's arguments -> canonical crop.

`DIALECTS` maps a framework id to its `Dialect` (torch, keras, tf, jax, onnx, paddle): everything
framework-specific about spelling a call is its dialect's (see `common.Dialect`), so a new dialect
is one module plus its line in `_BUILTIN` (or, from outside, `register_dialect`).  `read(...)` turns a case's framework-specific
arguments and tensor shapes into a `Reading`: the canonical `Geometry` plus the `Layout` needed to
move tensors between the framework's layout and the canonical one (`to_canonical_*`,
`from_canonical_output`, `canonical_index`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from convtx.harness.core.problem import Geometry
from convtx.harness.semantics import jax, keras, onnx, paddle, tf, torch
from convtx.harness.semantics.common import ArgError, Dialect, InvalidArguments, Layout, Shapes, canonical_weight_roles

_BUILTIN: tuple[Dialect, ...] = (torch.DIALECT, keras.DIALECT, tf.DIALECT, jax.DIALECT, onnx.DIALECT, paddle.DIALECT)
DIALECTS: dict[str, Dialect] = {d.name: d for d in _BUILTIN}
FRAMEWORKS = tuple(DIALECTS)  # what a case's `framework:` may name

__all__ = ["DIALECTS", "FRAMEWORKS", "Reading", "read", "express", "read_canonical", "NotExpressible",
           "ArgError", "InvalidArguments", "Layout", "register_dialect", "unregister_dialect", "shape_in"]


def register_dialect(dialect: Dialect) -> None:
    """Add a dialect (a new framework's way of writing calls) for this process: cases may then be
    written in it, and systems may speak it."""
    global FRAMEWORKS
    DIALECTS[dialect.name] = dialect
    FRAMEWORKS = tuple(DIALECTS)


def unregister_dialect(name: str) -> None:
    """Take a registered dialect away again (the built-in ones stay)."""
    global FRAMEWORKS
    if name not in {d.name for d in _BUILTIN}:
        DIALECTS.pop(name, None)
        FRAMEWORKS = tuple(DIALECTS)


@dataclass(frozen=True)
class Reading:
    """A case as understood: canonical geometry, the framework layout, and the full args."""

    geometry: Geometry
    layout: Layout
    args: Mapping[str, Any]  # with the framework's defaults filled in
    given: Mapping[str, Any] = field(default_factory=dict)  # as written (by the case, or by `express`)

    @property
    def op(self) -> str:
        return self.geometry.op

    @property
    def call_args(self) -> Mapping[str, Any]:
        """The arguments as written (by the case, or by `express`): what a call passes."""
        return self.given

    @property
    def full_args(self) -> Mapping[str, Any]:
        """The arguments with the framework's defaults filled in."""
        return self.args

    def to_canonical_input(self, x: np.ndarray) -> np.ndarray:
        return np.transpose(x, _perm(self.layout.input, ("N", "C", *range(self.geometry.ndim))))

    def to_canonical_weight(self, w: np.ndarray) -> np.ndarray:
        roles = canonical_weight_roles(self.geometry.op, self.geometry.ndim)
        out = np.transpose(w, _perm(self.layout.weight, roles))
        if self.layout.flipped:
            out = np.flip(out, axis=tuple(range(2, out.ndim)))
        return np.ascontiguousarray(out)

    def from_canonical_output(self, y: np.ndarray) -> np.ndarray:
        canonical = ("N", "C", *range(self.geometry.ndim))
        return np.transpose(y, _perm(canonical, self.layout.output))

    def input_shape(self) -> tuple[int, ...]:
        """The input shape in this layout."""
        return shape_in(self.geometry.input_shape, ("N", "C", *range(self.geometry.ndim)), self.layout.input)

    def weight_shape(self) -> tuple[int, ...]:
        """The weight shape in this layout."""
        roles = canonical_weight_roles(self.geometry.op, self.geometry.ndim)
        return shape_in(self.geometry.weight_shape, roles, self.layout.weight)

    def output_shape(self) -> tuple[int, ...]:
        """The output shape in the case's own layout."""
        canonical = ("N", "C", *range(self.geometry.ndim))
        shape = self.geometry.output_shape
        return tuple(shape[canonical.index(r)] for r in self.layout.output)

    def from_canonical_input(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.transpose(x, _perm(("N", "C", *range(self.geometry.ndim)), self.layout.input)))

    def from_canonical_weight(self, w: np.ndarray) -> np.ndarray:
        roles = canonical_weight_roles(self.geometry.op, self.geometry.ndim)
        if self.layout.flipped:
            w = np.flip(w, axis=tuple(range(2, w.ndim)))
        return np.ascontiguousarray(np.transpose(w, _perm(roles, self.layout.weight)))

    def to_canonical_output(self, y: np.ndarray) -> np.ndarray:
        return np.transpose(y, _perm(self.layout.output, ("N", "C", *range(self.geometry.ndim))))

    def weight_conversion(self) -> str:
        """How to get this layout's weight from torch's (C_in, C_out/g, *k) / (C_out, C_in/g, *k) `w`."""
        roles = canonical_weight_roles(self.geometry.op, self.geometry.ndim)
        perm = _perm(roles, self.layout.weight)
        text = "w"
        if self.layout.flipped:
            axes = tuple(range(2, 2 + self.geometry.ndim))
            text = f"np.flip(w, axis={axes})"
        if perm != list(range(len(perm))):
            text = f"{text}.transpose{tuple(perm)}"
        return "as is (torch layout)" if text == "w" else text

    def canonical_index(self, index: tuple[int, ...]) -> tuple[int, ...]:
        """An output index in the case's layout -> the same element's canonical index."""
        canonical = ("N", "C", *range(self.geometry.ndim))
        return tuple(index[self.layout.output.index(r)] for r in canonical)


@dataclass(frozen=True)
class NotExpressible:
    framework: str
    reason: str


def express(framework: str, geometry: Geometry) -> Reading | NotExpressible:
    """The first of the framework's candidate argument sets whose reading is exactly `geometry`."""
    dialect = DIALECTS[framework]
    for args in dialect.candidates(geometry):
        try:
            reading = read_canonical(framework, geometry, args)
        except (ArgError, InvalidArguments):
            continue
        if reading.geometry == geometry:
            return reading
    return NotExpressible(framework, dialect.why_not(geometry))


def read_canonical(framework: str, geometry: Geometry, args: Mapping[str, Any]) -> Reading:
    """Read `args` for tensors of `geometry`'s canonical shapes, laid out as the framework wants."""
    dialect = DIALECTS[framework]
    op, nd = geometry.op, geometry.ndim
    layout = dialect.layout(op, dialect.check_args(op, args), nd)
    x_shape = shape_in(geometry.input_shape, ("N", "C", *range(nd)), layout.input)
    w_shape = shape_in(geometry.weight_shape, canonical_weight_roles(op, nd), layout.weight)
    bias = (geometry.out_channels,) if geometry.has_bias else None
    return read(framework, op, args, x_shape, w_shape, geometry.has_bias, bias)


def shape_in(shape, src_roles, dst_roles) -> tuple[int, ...]:
    """A shape laid out as src_roles, laid out as dst_roles (roles as in `common.Layout`)."""
    return tuple(shape[i] for i in _perm(src_roles, dst_roles))


def _perm(src_roles, dst_roles) -> list[int]:
    """Axes permutation taking an array laid out as src_roles to dst_roles."""
    return [tuple(src_roles).index(r) for r in dst_roles]


def read(framework: str, op: str, args: Mapping[str, Any], input_shape: tuple[int, ...],
         weight_shape: tuple[int, ...], has_bias: bool, bias_shape: tuple[int, ...] | None = None) -> Reading:
    """Understand one call. Raises ArgError (malformed) or InvalidArguments (framework refuses)."""
    dialect = DIALECTS[framework]
    full_args = dialect.check_args(op, args)
    ndim = len(input_shape) - 2
    if ndim not in (1, 2, 3):
        raise ArgError("input", f"expected a 3-, 4- or 5-D tensor (batch, channels and 1-3 spatial "
                       f"axes), got shape {list(input_shape)}")
    if len(weight_shape) != len(input_shape):
        raise ArgError("weight", f"has {len(weight_shape)} dimensions but the input has "
                       f"{len(input_shape)} (expected {len(input_shape)})")
    layout = dialect.layout(op, full_args, ndim)
    x_shape = tuple(input_shape[i] for i in _perm(layout.input, ("N", "C", *range(ndim))))
    w_shape = tuple(weight_shape[i] for i in _perm(layout.weight, canonical_weight_roles(op, ndim)))
    if min(x_shape) < 1 or min(w_shape) < 1:
        raise ArgError("input" if min(x_shape) < 1 else "weight", "every dimension must be >= 1")
    axes, groups = dialect.axes(Shapes(op, x_shape, w_shape), full_args)
    c_out = w_shape[1] * groups if op == "conv_transpose" else w_shape[0]
    if has_bias and bias_shape is not None and tuple(bias_shape) != (c_out,):
        raise ArgError("bias", f"shape {list(bias_shape)} does not match the {c_out} output channels "
                       f"(expected [{c_out}])")
    geometry = Geometry(op=op, batch=x_shape[0], in_channels=x_shape[1], out_channels=c_out,
                        groups=groups, in_size=x_shape[2:], kernel=w_shape[2:], axes=tuple(axes),
                        has_bias=has_bias)
    return Reading(geometry, layout, full_args, dict(args))
