"""The shift-GEMM ("stack") kernel of the NumPy reference: sub-pixel phases without an im2col.

The input is copied once per row of the layout (reference_plan.StackLayout): one copy per distinct
shift of the stacked trailing axes, channels-first, leading axes zero-padded, stacked axes compact.
Flattened, a shift along a leading axis is then just an offset, so every GEMM reads a contiguous-row
view of the copy (rows: a block of (shift, c_in); columns: the grid from that offset) - no further
copy.  Phases reading the same rows at the same offset share one GEMM (their weights stacked: for
kernel = stride every phase is one block of a single GEMM on the input itself).  A phase sums its
GEMM blocks and is written, with the phase's strides, into the output; at stride 1 with no padding
columns the GEMMs write the output directly.  Grid columns outside the phase's outputs (padding rows
of a leading axis other than the first) are computed and dropped.

Images are either a batch dimension of the GEMMs ("batch": columns one image's grid) or merged
into the columns ("merged": fewer, longer GEMMs, the padding rows between images wasted).  Groups
are a batch dimension.  Batch chunks bound the scratch arrays by `chunk` elements.
"""

from __future__ import annotations

import math

import numpy as np

from convtx.harness.core.problem import Geometry
from convtx.harness.core.reference_plan import StackLayout, is_direct, stack_layout

WEIGHT_BLOCK = 1 << 15  # elements of the weight rearranged at a time (stays in cache)


def stack_gemm(x, w, g: Geometry, plans, acc, stacked: int, merged: bool, chunk: int) -> np.ndarray:
    """The cropped output (N, C_out, *out) by phases of shift-GEMMs over `stacked` copied axes."""
    out = np.empty((g.batch, g.out_channels, *(p.out for p in plans)), dtype=acc)
    lay = stack_layout(g, plans, stacked)
    n, groups = g.batch, g.groups
    cout_g = g.out_channels // groups
    direct = not merged and is_direct(g, plans)
    weights = _gemm_weights(w, g, lay, acc)
    per_image = lay.per_image
    steps = tuple(a.stride for a in g.axes)
    inplace = not merged and lay.inplace
    cols = 0 if direct else len(lay.rows) * g.in_channels * per_image
    res_total = max(scratch_per_image(lay, groups, cout_g, merged), g.out_channels * per_image)  # (or _inplace's)
    nb = max(1, min(n, chunk // max(1, cols, res_total)))
    xs_buf = np.empty(cols * nb, dtype=acc)
    res_buf = np.empty(res_total * nb, dtype=acc)
    xa = np.asarray(x).astype(acc, copy=False) if direct else np.asarray(x)
    for n0 in range(0, n, nb):
        n1 = min(n, n0 + nb)
        src = xa[n0:n1].reshape(n1 - n0, groups, -1, *g.in_size)
        if direct:  # (G, m, c_in/G, npix): the input itself
            xs = src.reshape(n1 - n0, groups, -1, per_image).transpose(1, 0, 2, 3)
        else:
            xs = _fill(xs_buf, src, lay, merged)
        dst = out[n0:n1].reshape(n1 - n0, groups, cout_g, *out.shape[2:])
        if inplace:
            _inplace(xs, weights, lay, dst, res_buf)
        else:
            _phases(xs, weights, lay, dst, res_buf, merged, steps)
    return out


def _gemm_weights(w, g: Geometry, lay: StackLayout, acc) -> list:
    """Per GEMM its weight (G, 1, members*c_out/G, rows*c_in/G): a transposed view of a contiguous
    (G, rows, c_in/G, members, c_out/G) slab; the slabs are written block of input channels by block,
    each block of the weight read once (while in cache) for all of them."""
    groups = g.groups
    cin_g, cout_g = g.in_channels // groups, g.out_channels // groups
    wv = np.asarray(w).reshape(groups, cin_g, cout_g, -1)
    orders = [np.array(gm.order, dtype=np.intp) for gm in lay.gemms]  # (rows, members) flat kernel taps
    wt = np.empty(groups * sum(o.size for o in orders) * cin_g * cout_g, dtype=acc)
    slabs, start = [], 0
    for order in orders:
        size = groups * order.size * cin_g * cout_g
        slabs.append(wt[start:start + size].reshape(groups, order.shape[0], cin_g, order.shape[1], cout_g))
        start += size
    block = max(1, WEIGHT_BLOCK // max(1, groups * cout_g * wv.shape[3]))  # input channels per block
    for c0 in range(0, cin_g, block):
        part = wv[:, c0:c0 + block]
        for slab, order in zip(slabs, orders):  # part[..., order]: (G, block, c_out/G, rows, members)
            slab[:, :, c0:c0 + block] = part[..., order].transpose(0, 3, 1, 4, 2)
    return [slab.reshape(groups, 1, -1, slab.shape[3] * cout_g).swapaxes(2, 3) for slab in slabs]


def _fill(cols: np.ndarray, src: np.ndarray, lay: StackLayout, merged: bool) -> np.ndarray:
    """The copies of the input chunk src (m, G, c_in/G, *in), one per row: (G, Nb, rows*c_in/G, F)."""
    m, groups, cin_g = src.shape[:3]
    nb, ni = (1, m) if merged else (m, 1)
    shape = (groups, nb, len(lay.rows), cin_g, ni, *lay.dims)
    xs = cols[:math.prod(shape)].reshape(shape)
    sizes = src.shape[3:]
    src = src.reshape(nb, ni, groups, cin_g, *sizes).transpose(2, 0, 3, 1, *range(4, 4 + len(sizes)))
    for r, shifts in enumerate(lay.rows):
        _fill_row(xs[:, :, r], src, lay, shifts, sizes)
    return xs.reshape(groups, nb, -1, ni * lay.per_image)


def _fill_row(row: np.ndarray, src: np.ndarray, lay: StackLayout, shifts, sizes) -> None:
    """One copy (G, Nb, c_in/G, Ni, *dims): leading axes padded, stacked axes shifted, zeros elsewhere."""
    nlead = len(lay.lead)
    dst_idx, src_idx = [], []
    for a, (size, n) in enumerate(zip(sizes, lay.dims)):
        c = shifts[a - nlead] if a >= nlead else -lay.pad_lo[a]
        j0, j1 = max(0, -c), min(n, size - c)
        if j1 <= j0:
            row[...] = 0
            return
        dst_idx.append(slice(j0, j1))
        src_idx.append(slice(j0 + c, j1 + c))
        pre = (slice(None),) * (4 + a)
        if j0 > 0:
            row[pre + (slice(0, j0),)] = 0
        if j1 < n:
            row[pre + (slice(j1, n),)] = 0
    row[(Ellipsis,) + tuple(dst_idx)] = src[(Ellipsis,) + tuple(src_idx)]


def _phases(xs, weights, lay: StackLayout, dst, buf, merged: bool, steps) -> None:
    """Every GEMM into buf, then each phase: the sum of its blocks (in buf after the GEMMs' results),
    written with its strides into dst."""
    groups, nb = xs.shape[:2]
    m, _, cout_g = dst.shape[:3]
    extra = (m - 1) * lay.per_image if merged else 0
    cin_g = xs.shape[2] // max(1, len(lay.rows))
    results, start = [], 0
    for gm, mat in zip(lay.gemms, weights):
        span = gm.span + extra
        r = buf[start:start + groups * nb * mat.shape[2] * span].reshape(groups, nb, mat.shape[2], span)
        np.matmul(mat, xs[:, :, gm.rows[0] * cin_g:gm.rows[1] * cin_g, gm.offset:gm.offset + span], out=r)
        results.append((r, start))
        start += r.size
    it = buf.itemsize
    grid = tuple(st * it for st in lay.strides)
    for ph in lay.phases:
        view = dst[(slice(None),) * 3 + tuple(slice(o0, None, s) for o0, s in zip(ph.starts, steps))]
        if not ph.parts:
            view[...] = 0
            continue
        span = ph.span + extra
        (k, i), rest = ph.parts[0], ph.parts[1:]
        r, offset = results[k]
        offset, strides = offset + i * cout_g * r.shape[3], r.strides[:2] + (r.strides[3] * r.shape[3],)
        if rest:
            total = buf[start:start + groups * nb * cout_g * span].reshape(groups, nb, cout_g, span)
            np.add(r[:, :, i * cout_g:(i + 1) * cout_g, :span], _block(results, rest[0], cout_g, span), out=total)
            for part in rest[1:]:
                total += _block(results, part, cout_g, span)
            offset, strides = start, total.strides[:3]
        if merged:  # (G, 1, c_out/G, span) -> (m, G, c_out/G, *q)
            shape, strides = (m, groups, cout_g, *ph.q), (lay.per_image * it, strides[0], strides[2], *grid)
        else:  # (G, m, c_out/G, span) -> (m, G, c_out/G, *q)
            shape, strides = (nb, groups, cout_g, *ph.q), (strides[1], strides[0], strides[2], *grid)
        view[...] = np.ndarray(shape, buf.dtype, buffer=buf, offset=offset * it, strides=strides)


def scratch_per_image(lay: StackLayout, groups: int, cout_g: int, merged: bool) -> int:
    """Elements of _phases' scratch per image: every GEMM's result, then room for one phase's sum."""
    res = sum(groups * len(gm.members) * cout_g * (lay.per_image if merged else gm.span) for gm in lay.gemms)
    return res + groups * cout_g * (lay.per_image if merged else max(ph.span for ph in lay.phases))


def _block(results, part, cout_g: int, span: int) -> np.ndarray:
    (r, _), i = results[part[0]], part[1]
    return r[:, :, i * cout_g:(i + 1) * cout_g, :span]


def _inplace(xs, weights, lay: StackLayout, dst, buf) -> None:
    """Stride 1, no padding columns: the GEMMs of the one phase write (and add into) the output itself."""
    groups, nb = xs.shape[:2]
    m, _, cout_g = dst.shape[:3]
    span = lay.phases[0].span
    cin_g = xs.shape[2] // max(1, len(lay.rows))
    total = dst.reshape(m, groups, cout_g, span).swapaxes(0, 1)
    if not lay.gemms:
        total[...] = 0
    for k, (gm, mat) in enumerate(zip(lay.gemms, weights)):
        b = xs[:, :, gm.rows[0] * cin_g:gm.rows[1] * cin_g, gm.offset:gm.offset + span]
        if k == 0:
            np.matmul(mat, b, out=total)
        else:
            part = buf[:groups * nb * cout_g * span].reshape(groups, nb, cout_g, span)
            np.matmul(mat, b, out=part)
            total += part
