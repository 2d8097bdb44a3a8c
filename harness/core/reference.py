"""The NumPy reference: computes the canonical problem exactly as the crop model defines it.

conv_transpose.  Per spatial axis the full output has length L = (i-1)*s + d*(k-1) + 1 (input
element y times kernel tap t lands at y*s + t*d); the crop (lo, hi) is cut off its ends (a negative
crop appends zeros) and the bias added.  The cropped output is computed directly, never the full
canvas, by one of two strategies; `choose_strategy` picks, per call, the one that moves fewer
elements besides its GEMMs (the GEMM work is the same):

- "gather", the sub-pixel (phase) decomposition.  The outputs o = o0 + q*s of one phase o0 receive
  only the taps t with (o0 + lo - t*d) = 0 (mod s), tap t from input y = q + c_t: each phase is a
  dense correlation over its own taps.  The input is transposed (zero-padded only as far as a tap
  reaches) once and the weight put taps-first once; then per phase ONE GEMM, (C_out x taps*C_in)
  @ (taps*C_in x N*Q) on an im2col of the phase's taps (no copy when a phase has one tap covering
  the whole input, e.g. kernel = stride), writes the phase's strided slice of the output.  Taps
  that reach no output (cropped away) are dropped.  The im2col is channels-first, or, in float32
  with few long rows, channels-last (runs of C_in instead of short rows).
- "scatter", for big weights, small inputs or few output channels: ONE GEMM with the weight as
  stored ((C_in x C_out*K), no copy) gives every input x tap product; then one strided add per tap
  into the window of the cropped output it reaches (channels-last when C_out is much longer than
  the input's rows).

Groups are a batch dimension of every GEMM.  The batch is cut into chunks so that no scratch array
exceeds CHUNK elements (bounded memory, e.g. on 3-D layers, and buffers small enough to be reused
rather than page-faulted afresh).  Python loops run over phases and taps only.  Accumulation is in
float64 by default; `accumulate=np.float32` is the fast mode (float32 GEMMs).  Sums differ from a
naive loop's only in their order: on integer-valued data the results are equal exactly
(tests/test_reference_vs_loop.py, tests/test_reference_speed_modes.py for every strategy).
conv (forward): one GEMM per kernel tap over strided views of the padded input.
No framework is imported; the `numpy` system (adapters/numpy_ref.py) runs it in-process.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from convtx.harness.core.problem import Geometry, Problem

CHUNK = 1 << 20  # elements of the largest scratch array per batch chunk (small: reused, not page-faulted)
STRATEGIES = ("gather-cf", "gather-cl", "scatter-cf", "scatter-cl")


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


# ---- the plan: phases, taps and windows per axis ----------------------------------------------

@dataclass(frozen=True)
class _AxisPlan:
    out: int  # output length L - lo - hi
    phases: tuple  # ((o0, q, ((t, c), ...)), ...): outputs o0 + j*s (j < q) take x[j + c] * w[t]
    pad: tuple[int, int]  # zeros the gather strategy adds before / after the input
    windows: tuple  # per tap: (input slice, output slice) it reaches, or None (scatter strategy)


def axis_plan(i: int, k: int, s: int, d: int, lo: int, hi: int) -> _AxisPlan:
    out = (i - 1) * s + d * (k - 1) + 1 - lo - hi
    phases = []
    for o0 in range(min(s, max(out, 0))):
        q, f = (out - o0 + s - 1) // s, o0 + lo
        taps = tuple((t, (f - t * d) // s) for t in range(k) if (f - t * d) % s == 0)
        phases.append((o0, q, tuple((t, c) for t, c in taps if c + q > 0 and c < i)))
    reach = [(c, q) for _, q, taps in phases for _, c in taps]
    pad = (max([0] + [-c for c, _ in reach]), max([0] + [c + q - i for c, q in reach]))
    windows = []
    for t in range(k):
        off = t * d - lo  # input y lands on output y*s + off
        y0, y1 = max(0, -(off // s)), min(i, (out - 1 - off) // s + 1)
        windows.append((slice(y0, y1), slice(y0 * s + off, (y1 - 1) * s + off + 1, s)) if y1 > y0 else None)
    return _AxisPlan(out, tuple(phases), pad, tuple(windows))


def choose_strategy(g: Geometry, plans, acc=np.float64) -> str:
    """The strategy moving fewer elements besides its GEMMs (a copy counts 2, an add 5)."""
    n, cin, cout, npix = g.batch, g.in_channels, g.out_channels, int(np.prod(g.in_size))
    n_out = n * cout * int(np.prod([p.out for p in plans]))
    copies = 0
    for combo in itertools.product(*(p.phases for p in plans)):
        kp = int(np.prod([len(taps) for _, _, taps in combo]))
        if not _covers_input(combo, plans, g.in_size):
            copies += kp * int(np.prod([q for _, q, _ in combo]))
    gather = 2 * copies * cin * n + 2 * n_out + (2 * cin * cout // g.groups * int(np.prod(g.kernel)))
    scatter = 5 * int(np.prod(g.kernel)) * cout * n * npix
    if gather <= scatter:
        return "gather-cl" if acc == np.float32 and cin // g.groups > 8 * g.in_size[-1] else "gather-cf"
    return "scatter-cl" if cout // g.groups > 16 * g.in_size[-1] else "scatter-cf"


def _covers_input(combo, plans, in_size) -> bool:
    """One tap reading the whole, unpadded input: the gather strategy needs no im2col copy."""
    return all(len(taps) == 1 and taps[0][1] + p.pad[0] == 0 and q == i and p.pad == (0, 0)
               for (_, q, taps), p, i in zip(combo, plans, in_size))


def conv_transpose_cropped(x, w, g: Geometry, crops, accumulate=np.float64, strategy: str | None = None):
    """The output with crop (lo, hi) per axis (N, C_out, *out), computed without its full canvas."""
    plans = [axis_plan(i, k, a.stride, a.dilation, lo, hi)
             for i, k, a, (lo, hi) in zip(g.in_size, g.kernel, g.axes, crops)]
    out_size = tuple(p.out for p in plans)
    if min(out_size) <= 0 or g.batch == 0:
        return np.zeros((g.batch, g.out_channels, *out_size), dtype=accumulate)
    strategy = strategy or choose_strategy(g, plans, np.dtype(accumulate))
    run = _gather if strategy.startswith("gather") else _scatter
    return run(x, w, g, plans, accumulate, channels_last=strategy.endswith("-cl"))


def _chunks(n: int, per_image: int):
    nb = max(1, min(n, CHUNK // max(1, per_image)))
    return [(n0, min(n, n0 + nb)) for n0 in range(0, n, nb)]


def _gather(x, w, g: Geometry, plans, acc, channels_last: bool) -> np.ndarray:
    """Sub-pixel phases; im2col rows (tap, c_in) per phase, channels-last (long runs of c_in) or not."""
    n, groups, nd = g.batch, g.groups, g.ndim
    cin_g, cout_g = g.in_channels // groups, g.out_channels // groups
    out = np.empty((n, g.out_channels, *(p.out for p in plans)), dtype=acc)
    padded = tuple(i + sum(p.pad) for i, p in zip(g.in_size, plans))
    inner = tuple(slice(p.pad[0], p.pad[0] + i) for i, p in zip(g.in_size, plans))
    make = np.zeros if any(p.pad != (0, 0) for p in plans) else np.empty
    xg = np.asarray(x).astype(acc, copy=False).reshape(n, groups, cin_g, *g.in_size)
    # a phase whose one tap covers the input needs no im2col (channels-first: one GEMM per image, if large)
    direct = [_covers_input(c, plans, g.in_size) and (channels_last or int(np.prod(g.in_size)) >= 256)
              for c in itertools.product(*(p.phases for p in plans))]
    if channels_last:  # xt: (G, N, *padded, c_in/G)
        xt = make((groups, n, *padded, cin_g), dtype=acc)
        xt[_sl(None, None, *inner, None)] = np.moveaxis(xg, (1, 2), (0, -1))
    elif not all(direct):  # xt: (G, c_in/G, N, *padded)
        xt = make((groups, cin_g, n, *padded), dtype=acc)
        xt[_sl(None, None, None, *inner)] = np.moveaxis(xg, 0, 2)
    wt = _taps_first(w, acc).reshape(-1, groups, cin_g, cout_g)
    jobs = []
    for combo, direct_ in zip(itertools.product(*(p.phases for p in plans)), direct):
        o_slices = tuple(slice(o0, None, a.stride) for (o0, _, _), a in zip(combo, g.axes))
        q = tuple(q for _, q, _ in combo)
        taps = list(itertools.product(*(taps for _, _, taps in combo)))
        if not taps:  # no tap reaches these outputs
            out[_sl(None, None, *o_slices)] = 0
            continue
        index = [int(np.ravel_multi_index(tuple(t for t, _ in tap), g.kernel)) for tap in taps]
        wp = np.ascontiguousarray(np.moveaxis(wt[index], 0, 1)).reshape(groups, len(taps) * cin_g, cout_g)
        offsets = [tuple(c + p.pad[0] for (_, c), p in zip(tap, plans)) for tap in taps]
        jobs.append((o_slices, q, wp, None if direct_ else offsets))
    if not jobs:
        return out
    per_image = g.in_channels * max([len(j[3]) * int(np.prod(j[1])) for j in jobs if j[3] is not None], default=0)
    chunks = _chunks(n, max(per_image, g.out_channels * max(int(np.prod(j[1])) for j in jobs)))
    buf = np.empty(per_image * (chunks[0][1] - chunks[0][0]), dtype=acc)
    outg = out.reshape(n, groups, cout_g, *out.shape[2:])
    for n0, n1 in chunks:
        m = n1 - n0
        for o_slices, q, wp, shifts in jobs:
            kp = 1 if shifts is None else len(shifts)
            if channels_last:
                if shifts is None:
                    cols = xt[:, n0:n1]
                else:
                    cols = buf[:groups * m * int(np.prod(q)) * kp * cin_g].reshape(groups, m, *q, kp, cin_g)
                for j, sh in enumerate(shifts or ()):
                    window = (slice(c, c + k) for c, k in zip(sh, q))
                    cols[_sl(*[None] * (nd + 2), j)] = xt[_sl(None, slice(n0, n1), *window)]
                res = np.matmul(cols.reshape(groups, -1, kp * cin_g), wp).reshape(groups, m, *q, cout_g)
                res = np.moveaxis(res, (0, -1), (1, 2))  # (m, G, c_out/G, *q)
            elif shifts is None:  # the input as it is: one GEMM per image and group, (m, G, c_out/G, npix)
                res = np.matmul(wp.transpose(0, 2, 1), xg[n0:n1].reshape(m, groups, cin_g, -1))
                res = res.reshape(m, groups, cout_g, *q)
            else:
                cols = buf[:groups * kp * cin_g * m * int(np.prod(q))].reshape(groups, kp, cin_g, m, *q)
                for j, sh in enumerate(shifts):
                    cols[:, j] = xt[_sl(None, None, slice(n0, n1), *(slice(c, c + k) for c, k in zip(sh, q)))]
                res = np.matmul(wp.transpose(0, 2, 1), cols.reshape(groups, kp * cin_g, -1))
                res = res.reshape(groups, cout_g, m, *q).transpose(2, 0, 1, *range(3, 3 + nd))
            outg[_sl(slice(n0, n1), None, None, *o_slices)] = res
    return out


def _taps_first(w: np.ndarray, acc) -> np.ndarray:
    """The weight (C_in, C_out/G, *k) as (K, C_in, C_out/G): a transpose done in cache-sized blocks."""
    rows = np.asarray(w).reshape(w.shape[0] * w.shape[1], -1)
    out = np.empty((rows.shape[1], rows.shape[0]), dtype=acc)
    block = max(1, (1 << 15) // rows.shape[1])
    for r0 in range(0, rows.shape[0], block):
        out[:, r0:r0 + block] = rows[r0:r0 + block].T
    return out.reshape(rows.shape[1], w.shape[0], w.shape[1])


def _scatter(x, w, g: Geometry, plans, acc, channels_last: bool) -> np.ndarray:
    """One GEMM per batch chunk with the weight as stored (every input x tap product), one add per tap."""
    n, groups, npix = g.batch, g.groups, int(np.prod(g.in_size))
    cin_g, cout_g = g.in_channels // groups, g.out_channels // groups
    out_size = tuple(p.out for p in plans)
    wg = np.asarray(w).reshape(groups, cin_g, -1).astype(acc, copy=False)  # (G, c_in/G, c_out/G * K)
    xg = np.asarray(x).reshape(n, groups, cin_g, npix)
    taps = [(tap, [p.windows[t] for p, t in zip(plans, tap)]) for tap in _taps(g.kernel)]
    taps = [(tap, wins) for tap, wins in taps if None not in wins]
    shape = (n, *out_size, groups, cout_g) if channels_last else (n, groups, cout_g, *out_size)
    out = np.zeros(shape, dtype=acc)
    for n0, n1 in _chunks(n, g.out_channels * int(np.prod(g.kernel)) * npix):
        m = n1 - n0
        if channels_last:  # (G, m*npix, c_in/G) @ (G, c_in/G, c_out/G * K)
            xc = np.empty((groups, m, npix, cin_g), dtype=acc)
            xc[...] = xg[n0:n1].transpose(1, 0, 3, 2)
            cols = np.matmul(xc.reshape(groups, -1, cin_g), wg).reshape(groups, m, *g.in_size, cout_g, *g.kernel)
            for tap, wins in taps:
                src = cols[_sl(None, None, *(y for y, _ in wins), None, *tap)]
                out[_sl(slice(n0, n1), *(o for _, o in wins))] += np.moveaxis(src, 0, -2)
        else:  # (G, c_out/G * K, c_in/G) @ (G, c_in/G, m*npix)
            xc = np.empty((groups, cin_g, m, npix), dtype=acc)
            xc[...] = xg[n0:n1].transpose(1, 2, 0, 3)
            cols = np.matmul(wg.transpose(0, 2, 1), xc.reshape(groups, cin_g, -1))
            cols = cols.reshape(groups, cout_g, *g.kernel, m, *g.in_size)
            for tap, wins in taps:
                src = cols[_sl(None, None, *tap, None, *(y for y, _ in wins))]
                out[_sl(slice(n0, n1), None, None, *(o for _, o in wins))] += np.moveaxis(src, 2, 0)
    if channels_last:
        return np.ascontiguousarray(np.moveaxis(out.reshape(n, *out_size, g.out_channels), -1, 1))
    return out.reshape(n, g.out_channels, *out_size)


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
