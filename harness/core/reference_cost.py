"""Which strategy the NumPy reference runs for a shape: an estimate of each one's time.

The estimate counts, per strategy, the GEMMs (flops at a rate that falls with the GEMM's small
dimensions, on the BLAS's threads when large, plus a per-call cost), the elements each copy, add or
strided write moves (at costs per element measured on one core, per dtype) and the NumPy calls.
It only has to rank the strategies: all of them compute the same sums.  STRATEGIES lists every
strategy `conv_transpose_cropped` takes.
"""

from __future__ import annotations

import functools
import itertools
import math
import os

import numpy as np

from convtx.harness.core.problem import Geometry
from convtx.harness.core.reference_plan import is_direct, max_stacked, stack_layout

STRATEGIES = ("stack-batch", "stack-merged", "im2col-batch", "im2col-merged", "scatter-cf", "scatter-cl",
              "elementwise")

# ns per element moved (float64, float32) and per call; GEMM peak in flop/ns
_NS = {"copy": (0.45, 0.35), "write": (0.7, 0.55), "add": (0.3, 0.15), "scale": (0.45, 0.25),
       "scatter-cf": (1.5, 1.3), "scatter-cl": (1.3, 0.7), "zeros": (0.17, 0.07), "to-cf": (0.76, 0.62),
       "weight": (1.2, 0.8), "peak": (48.0, 92.0)}
CALL_NS, BLAS_CALL_NS, HALF_M, HALF_N = 1500.0, 300.0, 2.0, 16.0  # HALF_*: dimension at half the rate
# the BLAS's threads (the copies and adds run on one core): its own setting, else every usable core
BLAS_THREADS = int(os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or 0) or \
    (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
BLAS_THREADED = 1 << 18  # m*k*n from which OpenBLAS runs a GEMM on several threads


def choose_strategy(g: Geometry, plans, acc=np.float64) -> str:
    """The strategy with the smallest estimated time (see estimates; cached per shape)."""
    return _choose(g, tuple(plans), np.dtype(acc))


@functools.lru_cache(maxsize=512)
def _choose(g: Geometry, plans: tuple, acc: np.dtype) -> str:
    times = estimates(g, plans, acc)
    return min(times, key=lambda s: times[s])


def estimates(g: Geometry, plans, acc=np.dtype(np.float64)) -> dict[str, float]:
    """Estimated ns per strategy (elementwise only for groups of at most 2 x 2 channels)."""
    f32 = np.dtype(acc) == np.float32

    def ns(kind: str) -> float:
        return _NS[kind][1 if f32 else 0]

    out = {}
    for name in STRATEGIES:
        kind, _, layout = name.partition("-")
        if kind == "scatter":
            out[name] = _scatter(g, plans, layout == "cl", ns)
        elif kind == "elementwise":
            if (g.in_channels // g.groups) * (g.out_channels // g.groups) <= 4:
                out[name] = _elementwise(g, plans, ns)
        else:
            stacked = 1 if kind == "stack" else max_stacked(plans)
            if kind == "stack" or stacked > 1:
                out[name] = _stack(g, plans, stacked, layout == "merged", ns)
    return out


def _gemm(m: int, k: int, n: int, calls: int, ns) -> float:
    """calls GEMMs (m x k) @ (k x n): flops at a rate falling with small dimensions (the result's rows
    hurt less than its columns), plus packing an operand and writing the result (what bounds a
    GEMV-like GEMM), plus the call."""
    rate = ns("peak") * m / (m + HALF_M) * n / (n + HALF_N) * k / (k + HALF_M)
    threads = BLAS_THREADS if m * k * n >= BLAS_THREADED else 1  # OpenBLAS splits only large GEMMs
    flops = 2.0 * m * k * n / rate / (1 + 0.8 * (threads - 1))
    return calls * (flops + (k * n + m * n) * ns("zeros") + BLAS_CALL_NS)


def _stack(g: Geometry, plans, stacked: int, merged: bool, ns) -> float:
    lay = stack_layout(g, plans, stacked)
    n, groups = g.batch, g.groups
    cin_g, cout_g = g.in_channels // groups, g.out_channels // groups
    per_image = lay.per_image
    direct = not merged and is_direct(g, plans)
    t = 0.0 if direct else len(lay.rows) * g.in_channels * n * per_image * ns("copy")
    t += sum(len(gm.taps[0]) * len(gm.members) for gm in lay.gemms) * cin_g * g.out_channels * ns("weight")
    for gm in lay.gemms:
        cols, batch = (n * per_image, groups) if merged else (gm.span, groups * n)
        t += _gemm(len(gm.members) * cout_g, (gm.rows[1] - gm.rows[0]) * cin_g, cols, batch, ns)
    for ph in lay.phases:
        cols = n * per_image if merged else n * ph.span
        t += max(0, len(ph.parts) - 1) * g.out_channels * cols * ns("add")
    inplace = not merged and lay.inplace
    out_elems = n * g.out_channels * math.prod([p.out for p in plans])
    t += 0.0 if inplace else out_elems * ns("write") * (1 + 8 / lay.phases[0].q[-1])
    calls = len(lay.gemms) + 2 * len(lay.phases) + (0 if direct else 3 * len(lay.rows) * g.ndim)
    return t + CALL_NS * calls


def _scatter(g: Geometry, plans, channels_last: bool, ns) -> float:
    n, groups, npix = g.batch, g.groups, math.prod(g.in_size)
    cin_g, cout_g, taps = g.in_channels // groups, g.out_channels // groups, math.prod(g.kernel)
    chunk = min(n, max(1, -(-256 // npix)))
    rows, cols = (chunk * npix, cout_g * taps) if channels_last else (cout_g * taps, chunk * npix)
    t = _gemm(rows, cin_g, cols, groups * -(-n // chunk), ns) + g.in_channels * n * npix * ns("copy")
    out_elems = n * g.out_channels * math.prod([p.out for p in plans])
    t += out_elems * (ns("zeros") + (ns("to-cf") if channels_last else 0.0))
    reached = 0
    for tap in itertools.product(*map(range, g.kernel)):
        wins = [p.windows[t] for p, t in zip(plans, tap)]
        if None not in wins:
            reached += math.prod([w[0].stop - w[0].start for w in wins])
    inner = cout_g if channels_last else g.in_size[-1]  # the adds' inner loops
    t += reached * n * g.out_channels * ns("scatter-cl" if channels_last else "scatter-cf") * (1 + 8 / inner)
    return t + CALL_NS * 2 * math.prod(g.kernel) * -(-n // chunk)


def _elementwise(g: Geometry, plans, ns) -> float:
    n = g.batch
    cin_g, cout_g = g.in_channels // g.groups, g.out_channels // g.groups
    per_image = math.prod([i + sum(p.pad) for i, p in zip(g.in_size, plans)])
    terms = sum(math.prod([len(taps) for _, _, taps in combo])
                for combo in itertools.product(*(p.phases for p in plans)))
    t = g.in_channels * n * per_image * ns("copy")
    t += terms * cin_g * cout_g * g.groups * n * per_image * (ns("scale") + ns("add"))
    t += n * g.out_channels * math.prod([p.out for p in plans]) * ns("write")
    return t + CALL_NS * 2 * terms * cin_g * cout_g

