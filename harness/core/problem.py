"""The canonical problem every case is translated into, whatever framework it was written in.

Layout: input (N, C_in, *spatial); weight (C_in, C_out/groups, *k) for `conv_transpose` and
(C_out, C_in/groups, *k) for `conv` (torch's layouts, unflipped).  Per spatial axis: stride s,
dilation d and a pair (lo, hi):
- conv_transpose: the crop taken off each end of the full output of length
  L = (i - 1)*s + d*(k - 1) + 1; a negative crop is zero extension on that side;
- conv: the zero padding added to each end of the input; a negative pad crops the input.
Output length: L - lo - hi (conv_transpose), floor((i + lo + hi - K) / s) + 1 (conv).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

OPS = ("conv_transpose", "conv")


@dataclass(frozen=True)
class Axis:
    """One spatial axis: stride, dilation and (lo, hi) as described in the module docstring."""

    stride: int
    dilation: int
    lo: int
    hi: int


def dilated_extent(kernel: int, dilation: int) -> int:
    """K = d*(k-1) + 1, the span a dilated kernel covers."""
    return dilation * (kernel - 1) + 1


def full_length(size: int, kernel: int, axis: Axis) -> int:
    """L = (i-1)*s + K, the uncropped transposed-convolution output length."""
    return (size - 1) * axis.stride + dilated_extent(kernel, axis.dilation)


def output_length(op: str, size: int, kernel: int, axis: Axis) -> int:
    """Output length along one axis (may be <= 0 for an impossible call)."""
    if op == "conv_transpose":
        return full_length(size, kernel, axis) - axis.lo - axis.hi
    span = size + axis.lo + axis.hi - dilated_extent(kernel, axis.dilation)
    return span // axis.stride + 1 if span >= 0 else 0


@dataclass(frozen=True)
class Geometry:
    """Everything about a call but the tensor values."""

    op: str
    batch: int
    in_channels: int
    out_channels: int
    groups: int
    in_size: tuple[int, ...]
    kernel: tuple[int, ...]
    axes: tuple[Axis, ...]
    has_bias: bool = False

    @property
    def ndim(self) -> int:
        return len(self.in_size)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.batch, self.in_channels, *self.in_size)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        if self.op == "conv_transpose":
            return (self.in_channels, self.out_channels // self.groups, *self.kernel)
        return (self.out_channels, self.in_channels // self.groups, *self.kernel)

    @property
    def full_size(self) -> tuple[int, ...]:
        return tuple(full_length(i, k, a) for i, k, a in zip(self.in_size, self.kernel, self.axes))

    @property
    def out_size(self) -> tuple[int, ...]:
        return tuple(output_length(self.op, i, k, a)
                     for i, k, a in zip(self.in_size, self.kernel, self.axes))

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.batch, self.out_channels, *self.out_size)

    @property
    def crops(self) -> tuple[tuple[int, int], ...]:
        return tuple((a.lo, a.hi) for a in self.axes)

    def describe(self) -> str:
        """A compact one-line summary, e.g. `conv_transpose 2d k3 s2 d1 crop (1,0)`."""
        ks = "x".join(map(str, self.kernel))
        per_axis = ", ".join(f"s{a.stride} d{a.dilation} ({a.lo},{a.hi})" for a in self.axes)
        word = "crop" if self.op == "conv_transpose" else "pad"
        g = f" groups={self.groups}" if self.groups > 1 else ""
        return f"{self.op} {self.ndim}d k{ks}{g} [{word} per axis: {per_axis}]"


@dataclass
class Problem:
    """A geometry plus its float64 tensors (values already rounded to `dtype`)."""

    geometry: Geometry
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None
    dtype: str = "float32"
    meta: dict = field(default_factory=dict)


def canonical_args(g: Geometry) -> dict:
    """The geometry's per-axis numbers as call arguments (what the canonical dialect's systems take)."""
    return {"stride": [a.stride for a in g.axes], "dilation": [a.dilation for a in g.axes],
            "crop" if g.op == "conv_transpose" else "pad": [[a.lo, a.hi] for a in g.axes], "groups": g.groups}


def geometry_from(op: str, args: dict, x_shape: tuple[int, ...], w_shape: tuple[int, ...], has_bias: bool) -> Geometry:
    """The inverse of `canonical_args`, given the canonical tensor shapes."""
    pairs = args["crop" if op == "conv_transpose" else "pad"]
    axes = tuple(Axis(s, d, lo, hi) for s, d, (lo, hi) in zip(args["stride"], args["dilation"], pairs))
    groups = args["groups"]
    c_out = w_shape[1] * groups if op == "conv_transpose" else w_shape[0]
    return Geometry(op, x_shape[0], x_shape[1], c_out, groups, tuple(x_shape[2:]), tuple(w_shape[2:]), axes, has_bias)
