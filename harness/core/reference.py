"""The NumPy reference: computes the canonical problem exactly as the crop model defines it.

conv_transpose.  Per spatial axis the full output has length L = (i-1)*s + d*(k-1) + 1 (input
element y times kernel tap t lands at y*s + t*d); the crop (lo, hi) is cut off its ends (a negative
crop appends zeros) and the bias added.  The cropped output is computed directly, never the full
canvas.  All strategies rest on the sub-pixel (phase) decomposition of reference_plan.py: the
outputs o0 + j*s of one phase o0 receive only the taps t with (o0 + lo - t*d) = 0 (mod s), so each
phase is a dense correlation over its own taps - dilation included (a phase's taps are those with
the right residue; when gcd(s, d) > 1 some phases have none and are zeros).  Per call
`choose_strategy` (reference_cost.py) estimates each strategy's time for the shape and picks:

- "stack-batch" / "stack-merged" (reference_stack.py), the default for most layers: the input is
  copied once per distinct shift of the last axis (3 copies for k4 s2), and a shift along any other
  axis is an offset into the flattened copy, so every phase is a few GEMMs on contiguous-row views
  - no im2col - summed; phases reading the same rows share one GEMM (for kernel = stride the whole
  layer is one GEMM on the input itself); at stride 1 the GEMMs write the output directly.  "batch":
  one GEMM per image; "merged": images merged into the GEMMs' columns.
- "im2col-batch" / "im2col-merged": the same with as many trailing axes copied as the phases allow
  (all of them at stride 1): deeper GEMMs, more copies.
- "scatter-cf" / "scatter-cl" (reference_scatter.py), for big weights on small inputs: one GEMM with
  the weight as stored (no copy) gives every input x tap product, then one strided add per tap.
- "elementwise" (reference_elementwise.py), for groups of one or two channels (depthwise): per
  phase a sum of (weight scalar) * (offset view of the padded input), no GEMV.

Groups are a batch dimension of every GEMM.  Batch (and group) chunks bound every scratch array by
CHUNK elements (cache-sized: reused, not page-faulted).  Python loops run over phases, GEMMs and
copies only; the plans and the choice are cached per shape.  Accumulation is in float64 by default
(float64 GEMMs); `accumulate=np.float32` is the fast mode (float32 GEMMs).  Sums differ from a
naive loop's only in their order: on integer-valued data the results are equal exactly, for every
strategy (tests/unit/test_reference_vs_loop.py, test_reference_speed_modes.py,
test_reference_speedpaths.py).
conv (forward): one GEMM per kernel tap over strided views of the padded input.
No framework is imported; the `numpy` system (adapters/numpy_ref.py) runs it in-process.
"""

from __future__ import annotations

import itertools

import numpy as np

from convtx.harness.core.problem import Geometry, Problem
from convtx.harness.core.reference_cost import STRATEGIES, choose_strategy
from convtx.harness.core.reference_elementwise import elementwise
from convtx.harness.core.reference_plan import AxisPlan, axis_plan, max_stacked, plans_of
from convtx.harness.core.reference_scatter import scatter
from convtx.harness.core.reference_stack import stack_gemm

__all__ = ["compute", "conv_transpose", "full_conv_transpose", "conv_transpose_cropped", "crop", "conv",
           "axis_plan", "choose_strategy", "AxisPlan", "STRATEGIES", "CHUNK"]

CHUNK = 1 << 17  # elements of the largest scratch array per chunk (a GEMM's minimum width may exceed it)


def compute(problem: Problem, accumulate=np.float64) -> np.ndarray:
    g = problem.geometry
    if g.op == "conv":
        return conv(problem.x, problem.w, problem.b, g, accumulate)
    return conv_transpose(problem.x, problem.w, problem.b, g, accumulate)


def _taps(kernel: tuple[int, ...]):
    return itertools.product(*(range(k) for k in kernel))


def _sl(*parts) -> tuple:
    """An index tuple: ints and slices as given, None for a whole axis."""
    return tuple(slice(None) if p is None else p for p in parts)


def conv_transpose(x, w, b, g: Geometry, accumulate=np.float64) -> np.ndarray:
    return _add_bias(conv_transpose_cropped(x, w, g, g.crops, accumulate), b)


def full_conv_transpose(x: np.ndarray, w: np.ndarray, g: Geometry, accumulate=np.float64) -> np.ndarray:
    """The uncropped output (N, C_out, *L) - the canvas every crop is taken from."""
    return conv_transpose_cropped(x, w, g, ((0, 0),) * g.ndim, accumulate)


def conv_transpose_cropped(x, w, g: Geometry, crops, accumulate=np.float64, strategy: str | None = None):
    """The output with crop (lo, hi) per axis (N, C_out, *out), computed without its full canvas."""
    plans = plans_of(g, tuple((lo, hi) for lo, hi in crops))
    out_size = tuple(p.out for p in plans)
    if min(out_size) <= 0 or g.batch == 0:
        return np.zeros((g.batch, g.out_channels, *out_size), dtype=accumulate)
    acc = np.dtype(accumulate).type
    strategy = strategy or choose_strategy(g, plans, np.dtype(accumulate))
    kind, _, layout = strategy.partition("-")
    if kind == "elementwise":
        return elementwise(x, w, g, plans, acc, CHUNK)
    if kind == "scatter":
        return scatter(x, w, g, plans, acc, layout == "cl", CHUNK)
    stacked = 1 if kind == "stack" else max_stacked(plans)
    return stack_gemm(x, w, g, plans, acc, stacked, layout == "merged", CHUNK)


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
    out[_sl(None, None, *dst)] = full[_sl(None, None, *src)]
    return out


def _add_bias(out: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    if b is not None:
        out += b.astype(out.dtype).reshape(1, -1, *([1] * (out.ndim - 2)))
    return out


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
        patch = xg[_sl(None, None, None, *window)]  # (G, N, cin_g, *O)
        patch = patch.swapaxes(1, 2).reshape(groups, cin_g, n * npix)
        taps = wg[_sl(None, None, None, *tap)]  # (G, cout_g, cin_g)
        out += np.matmul(taps, patch).reshape(groups, cout_g, n, *out_size)
    out = np.moveaxis(out, 2, 0).reshape(n, g.out_channels, *out_size)
    return _add_bias(out, b)


def _pad_input(x: np.ndarray, g: Geometry) -> np.ndarray:
    """Zero-pad (or, for negative pads, crop) the spatial axes of a forward convolution's input."""
    widths = [(0, 0), (0, 0)] + [(max(a.lo, 0), max(a.hi, 0)) for a in g.axes]
    xp = np.pad(x, widths) if any(w != (0, 0) for w in widths) else x
    cut = tuple(slice(max(-a.lo, 0), xp.shape[2 + j] - max(-a.hi, 0)) for j, a in enumerate(g.axes))
    return xp[_sl(None, None, *cut)]
