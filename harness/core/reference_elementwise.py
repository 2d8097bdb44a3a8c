"""The elementwise kernel of the NumPy reference, for groups of few channels (depthwise layers).

A GEMM of a group with one or two channels is a GEMV: all memory traffic.  Here the input chunk is
zero-padded once (channels-first, images merged: (C_in, m, *padded)), so that every kernel tap of
every phase is an offset into its flattened rows, and each output phase is the sum over its taps
and channels of (weight scalar per group) * (offset view): one multiply and one add per term over
contiguous rows, then one strided write of the phase.  Outputs are computed on the padded grid
(the padding columns are dropped).  Blocks of images and groups bound the scratch arrays by `chunk`
elements.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from convtx.harness.core.problem import Geometry
from convtx.harness.core.reference_plan import c_strides, chunk_blocks


def elementwise(x, w, g: Geometry, plans, acc, chunk: int) -> np.ndarray:
    """The cropped output (N, C_out, *out): per phase, a sum of scalar-times-view terms per group,
    block of images and groups by block (all images of a few groups when they fit: long rows)."""
    n, groups = g.batch, g.groups
    cin_g, cout_g = g.in_channels // groups, g.out_channels // groups
    out = np.empty((n, g.out_channels, *(p.out for p in plans)), dtype=acc)
    padded = tuple(i + sum(p.pad) for i, p in zip(g.in_size, plans))
    strides = c_strides(padded)
    wg = np.asarray(w).astype(acc, copy=False).reshape(groups, cin_g, cout_g, -1)
    phases = [_phase_terms(combo, plans, strides, g.kernel) for combo in itertools.product(*(p.phases for p in plans))]
    steps = tuple(a.stride for a in g.axes)
    for n0, n1, g0, g1 in chunk_blocks(n, groups, (cin_g + 2) * math.prod(padded), chunk):
        xp = _padded(np.asarray(x)[n0:n1, g0 * cin_g:g1 * cin_g], plans, padded, acc)  # (C', m * per_image)
        dst = out[n0:n1, g0 * cout_g:g1 * cout_g].reshape(n1 - n0, g1 - g0, cout_g, *out.shape[2:])
        _block(xp, wg[g0:g1], phases, padded, dst, steps)
    return out


def _block(xp, wg, phases, padded, dst, steps) -> None:
    """The phases of one block: dst (m, G', c_out/G, *out) from its padded input xp (C', m * per_image)."""
    m, groups, cout_g = dst.shape[:3]
    per_image, strides = math.prod(padded), c_strides(padded)
    scratch = np.empty(2 * groups * m * per_image, dtype=xp.dtype)
    for starts, q, terms in phases:
        view = dst[(slice(None),) * 3 + tuple(slice(o0, None, s) for o0, s in zip(starts, steps))]
        if not terms:
            view[...] = 0
            continue
        span = (m - 1) * per_image + 1 + sum((k - 1) * st for k, st in zip(q, strides))
        for co in range(cout_g):
            total = _sum_terms(xp, wg, terms, co, span, scratch)
            it = total.itemsize
            view[:, :, co] = np.ndarray((m, groups, *q), total.dtype, buffer=total,
                                        strides=(per_image * it, total.strides[0], *(st * it for st in strides)))


def _phase_terms(combo, plans, strides, kernel):
    """(o0 per axis, q per axis, ((flat offset, flat tap index), ...)) of one phase."""
    starts, q = tuple(o0 for o0, _, _ in combo), tuple(q for _, q, _ in combo)
    if any(not taps for _, _, taps in combo):
        return starts, q, ()
    terms = []
    for taps in itertools.product(*(taps for _, _, taps in combo)):
        offset = sum((c + p.pad[0]) * st for (_, c), p, st in zip(taps, plans, strides))
        terms.append((offset, int(np.ravel_multi_index(tuple(t for t, _ in taps), kernel))))
    return starts, q, tuple(terms)


def _padded(x: np.ndarray, plans, padded, acc) -> np.ndarray:
    """The chunk x (m, C, *in) zero-padded as (C, m, *padded), returned flat per channel (C, m * per_image)."""
    m, c = x.shape[:2]
    xp = np.empty((c, m, *padded), dtype=acc)
    inner = []
    for a, (i, p) in enumerate(zip(x.shape[2:], plans)):
        pre = (slice(None),) * (2 + a)
        if p.pad[0]:
            xp[pre + (slice(0, p.pad[0]),)] = 0
        if p.pad[1]:
            xp[pre + (slice(p.pad[0] + i, None),)] = 0
        inner.append(slice(p.pad[0], p.pad[0] + i))
    xp[(slice(None), slice(None)) + tuple(inner)] = x.transpose(1, 0, *range(2, x.ndim))
    return xp.reshape(c, -1)


def _sum_terms(xp, wg, terms, co: int, span: int, scratch: np.ndarray) -> np.ndarray:
    """sum over taps and input channels of w[g, ci, co, tap] * x[g, ci, offset:offset + span] as (G, span)."""
    groups, cin_g = wg.shape[:2]
    xg = xp.reshape(groups, cin_g, -1)
    total = scratch[:groups * span].reshape(groups, span)
    tmp = scratch[groups * span:2 * groups * span].reshape(groups, span)
    first = True
    for offset, tap in terms:
        for ci in range(cin_g):
            scale = wg[:, ci, co, tap, None]
            src = xg[:, ci, offset:offset + span]
            if first:
                np.multiply(src, scale, out=total)
                first = False
            else:
                np.multiply(src, scale, out=tmp)
                total += tmp
    return total
