"""The NumPy reference: computes the canonical problem exactly as the crop model defines it.

conv_transpose: one batched GEMM per call (all groups at once) gives every input x kernel-tap
product; then one strided add per kernel tap scatters them into the full output of length
L = (i-1)*s + d*(k-1) + 1; the crop (lo, hi) is cut off (or zeros appended, where negative) and the
bias added.  conv: one GEMM per kernel tap over strided views of the padded input.  Accumulation is
in float64 by default; `accumulate=np.float32` is the fast mode the benchmark measures.
No framework is imported; this adapter is always available.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..harness.problem import Geometry, Problem
from .base import NativeCall

ID = "numpy"
INSTALL_HINT = "numpy is a core dependency"


def available() -> bool:
    return True


def version() -> str:
    return np.__version__


def translate(geometry: Geometry, dtype: str = "float64") -> NativeCall:
    return NativeCall(ID, f"convtx.adapters.numpy_ref.compute(problem)  # {geometry.describe()}",
                      "none (canonical layout)", {})


def run(call: NativeCall, problem: Problem) -> np.ndarray:
    return compute(problem)


def compute(problem: Problem, accumulate=np.float64) -> np.ndarray:
    g = problem.geometry
    if g.op == "conv":
        return conv(problem.x, problem.w, problem.b, g, accumulate)
    return conv_transpose(problem.x, problem.w, problem.b, g, accumulate)


def _taps(kernel: tuple[int, ...]):
    return itertools.product(*(range(k) for k in kernel))


def full_conv_transpose(x: np.ndarray, w: np.ndarray, g: Geometry, accumulate=np.float64) -> np.ndarray:
    """The uncropped output (N, C_out, *L) - the canvas every crop is taken from."""
    n, groups = g.batch, g.groups
    cin_g, cout_g = g.in_channels // groups, g.out_channels // groups
    ktaps = int(np.prod(g.kernel))
    npix = int(np.prod(g.in_size))
    xg = x.astype(accumulate, copy=False).reshape(n, groups, cin_g, npix)
    xg = xg.transpose(1, 2, 0, 3).reshape(groups, cin_g, n * npix)
    wg = w.astype(accumulate, copy=False).reshape(groups, cin_g, cout_g * ktaps).transpose(0, 2, 1)
    cols = np.matmul(wg, xg).reshape(groups, cout_g, *g.kernel, n, *g.in_size)
    full = np.zeros((groups, cout_g, n, *g.full_size), dtype=accumulate)
    for tap in _taps(g.kernel):
        window = tuple(slice(t * a.dilation, t * a.dilation + (i - 1) * a.stride + 1, a.stride)
                       for t, a, i in zip(tap, g.axes, g.in_size))
        full[(slice(None), slice(None), slice(None), *window)] += cols[(slice(None), slice(None), *tap)]
    full = np.moveaxis(full, 2, 0).reshape(n, g.out_channels, *g.full_size)
    return full


def crop(full: np.ndarray, crops: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Cut (lo, hi) off each spatial axis; a negative amount appends zeros on that side."""
    lengths = full.shape[2:]
    out_len = [L - lo - hi for L, (lo, hi) in zip(lengths, crops)]
    out = np.zeros((*full.shape[:2], *out_len), dtype=full.dtype)
    src, dst = [], []
    for L, O, (lo, hi) in zip(lengths, out_len, crops):
        start, stop = max(lo, 0), min(L, L - hi)
        if stop <= start:
            return out
        src.append(slice(start, stop))
        dst.append(slice(start - lo, stop - lo))
    out[(slice(None), slice(None), *dst)] = full[(slice(None), slice(None), *src)]
    return out


def _add_bias(out: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    if b is not None:
        out += b.astype(out.dtype).reshape(1, -1, *([1] * (out.ndim - 2)))
    return out


def conv_transpose(x, w, b, g: Geometry, accumulate=np.float64) -> np.ndarray:
    out = crop(full_conv_transpose(x, w, g, accumulate), g.crops)
    return _add_bias(out, b)


def conv(x, w, b, g: Geometry, accumulate=np.float64) -> np.ndarray:
    """Forward convolution (cross-correlation), torch semantics with per-side padding."""
    n, groups = g.batch, g.groups
    cin_g, cout_g = g.in_channels // groups, g.out_channels // groups
    xp = _pad_input(x.astype(accumulate, copy=False), g)
    out_size = g.out_size
    out = np.zeros((groups, cout_g, n, *out_size), dtype=accumulate)
    wg = w.astype(accumulate, copy=False).reshape(groups, cout_g, cin_g, *g.kernel)
    xg = xp.reshape(n, groups, cin_g, *xp.shape[2:]).swapaxes(0, 1)  # (G, N, cin_g, *P)
    npix = int(np.prod(out_size))
    for tap in _taps(g.kernel):
        window = tuple(slice(t * a.dilation, t * a.dilation + (o - 1) * a.stride + 1, a.stride)
                       for t, a, o in zip(tap, g.axes, out_size))
        patch = xg[(slice(None), slice(None), slice(None), *window)]  # (G, N, cin_g, *O)
        patch = patch.swapaxes(1, 2).reshape(groups, cin_g, n * npix)
        taps = wg[(slice(None), slice(None), slice(None), *tap)]  # (G, cout_g, cin_g)
        out += np.matmul(taps, patch).reshape(groups, cout_g, n, *out_size)
    out = np.moveaxis(out, 2, 0).reshape(n, g.out_channels, *out_size)
    return _add_bias(out, b)


def _pad_input(x: np.ndarray, g: Geometry) -> np.ndarray:
    """Zero-pad (or, for negative pads, crop) the spatial axes of a forward convolution's input."""
    widths = [(0, 0), (0, 0)] + [(max(a.lo, 0), max(a.hi, 0)) for a in g.axes]
    xp = np.pad(x, widths) if any(w != (0, 0) for w in widths) else x
    cut = tuple(slice(max(-a.lo, 0), xp.shape[2 + j] - max(-a.hi, 0)) for j, a in enumerate(g.axes))
    return xp[(slice(None), slice(None), *cut)]
