"""A toy framework, to prove that adding one takes a dialect, a system and a registry line.

The toy dialect writes a transposed convolution as `step` (the stride) and `trim` (the same crop at
both ends of every axis), channels-last activations and a (*k, C_in, C_out) kernel; no dilation, no
groups.  The toy system computes it with the NumPy reference after reading its own arguments, in a
worker process like any framework.  `install()` registers both (the worker registers the dialect
itself when it first reads a call); `uninstall()` takes them away again.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping

import numpy as np

from convtx.adapters.contract import System, render_call
from convtx.harness import semantics
from convtx.harness.core.problem import Axis, Geometry, Problem
from convtx.harness.semantics.common import (Dialect, FuzzDraw, InvalidArguments, Layout, Shapes, channels_last,
                                             check_groups, check_positive, ints)

SYSTEM_PATH = "support.toy:ToySystem"


class ToyDialect(Dialect):
    name = "toy"
    fuzzable = True
    ops = {"conv_transpose": {"step": 1, "trim": 0}}

    def layout(self, op: str, args: Mapping[str, Any], ndim: int) -> Layout:
        return Layout(channels_last(ndim), (*range(ndim), "in", "out"), channels_last(ndim))

    def axes(self, shapes: Shapes, args: Mapping[str, Any]) -> tuple[tuple[Axis, ...], int]:
        check_groups(shapes, 1, "args.step")
        step = ints(args["step"], shapes.ndim, "args.step", minimum=1)
        trim = ints(args["trim"], shapes.ndim, "args.trim", minimum=0)
        axes = tuple(Axis(s, 1, t, t) for s, t in zip(step, trim))
        sizes = [(i - 1) * s + k - 2 * t for i, k, s, t in zip(shapes.in_size, shapes.kernel, step, trim)]
        check_positive(sizes, "the output", "args.trim")
        return axes, 1

    def candidates(self, g: Geometry) -> Iterable[Mapping[str, Any]]:
        if g.op == "conv_transpose" and g.groups == 1 and all(a.dilation == 1 and a.lo == a.hi >= 0 for a in g.axes):
            yield {"step": [a.stride for a in g.axes], "trim": [a.lo for a in g.axes]}

    def why_not(self, g: Geometry) -> str:
        return "the toy framework trims the same amount at both ends, without dilation or groups"

    def fuzz_args(self, c: FuzzDraw) -> dict[str, Any]:
        if c.op != "conv_transpose" or c.groups != 1 or any(d != 1 for d in c.dilation):
            raise InvalidArguments("args", "the toy framework has only undilated, ungrouped transposed convolutions")
        return {"step": list(c.stride), "trim": [p % 2 for p in c.pads[:c.ndim]]}


class ToySystem(System):
    """The toy framework: the reference behind the toy dialect's arguments."""

    id = "toy"
    dialect = "toy"
    install_hint = "(the tests' toy framework)"

    def version(self) -> str:
        return "0.1-toy"

    def environment(self, device: str = "cpu") -> dict[str, Any]:
        return {"device": device, "pid": os.getpid()}

    def code(self, op: str, args: Mapping[str, Any], x_shape, w_shape, has_bias: bool) -> str:
        return render_call("toy.conv_transpose", ["x", "w"], dict(args))

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        from convtx.harness.core import reference
        install_dialect()
        reading = semantics.read("toy", op, args, x.shape, w.shape, b is not None, None if b is None else b.shape)
        canonical = reference.compute(Problem(reading.geometry, reading.to_canonical_input(x),
                                              reading.to_canonical_weight(w), b, dtype))
        return reading.from_canonical_output(canonical)


def install_dialect() -> None:
    if "toy" not in semantics.DIALECTS:
        semantics.register_dialect(ToyDialect())


def install() -> None:
    """Register the toy dialect and the toy system in this process (and so in the workers it starts)."""
    from convtx import adapters
    install_dialect()
    adapters.register("toy", SYSTEM_PATH)


def uninstall() -> None:
    from convtx import adapters
    semantics.unregister_dialect("toy")
    adapters.unregister("toy")
