"""The scatter (col2im) kernel of the NumPy reference, for big weights on small inputs.

ONE GEMM per batch chunk with the weight as stored ((C_in x C_out*K), no copy) gives every input x
tap product; then one strided add per tap into the window of the cropped output it reaches
(reference_plan.AxisPlan.windows).  Channels-first, or channels-last (the adds then run over
channels; reference_cost chooses).  Groups are a batch dimension of the GEMM; batch chunks bound the
GEMM's result by `chunk` elements, unless that would leave it narrower than MIN_COLUMNS columns.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from convtx.harness.core.problem import Geometry


MIN_COLUMNS = 256  # a GEMM narrower than this runs well below the BLAS's peak


def _sl(*parts) -> tuple:
    """An index tuple: ints and slices as given, None for a whole axis."""
    return tuple(slice(None) if p is None else p for p in parts)


def scatter(x, w, g: Geometry, plans, acc, channels_last: bool, chunk: int) -> np.ndarray:
    """The cropped output (N, C_out, *out): one GEMM with the stored weight, one add per tap."""
    n, groups, npix = g.batch, g.groups, math.prod(g.in_size)
    cin_g, cout_g = g.in_channels // groups, g.out_channels // groups
    out_size = tuple(p.out for p in plans)
    wg = np.asarray(w).reshape(groups, cin_g, -1).astype(acc, copy=False)  # (G, c_in/G, c_out/G * K)
    xg = np.asarray(x).reshape(n, groups, cin_g, npix)
    taps = [(tap, [p.windows[t] for p, t in zip(plans, tap)]) for tap in itertools.product(*map(range, g.kernel))]
    taps = [(tap, wins) for tap, wins in taps if None not in wins]
    shape = (n, *out_size, groups, cout_g) if channels_last else (n, groups, cout_g, *out_size)
    out = np.zeros(shape, dtype=acc)
    # bounded by `chunk`, but wide enough for an efficient GEMM
    nb = min(n, max(chunk // max(1, g.out_channels * math.prod(g.kernel) * npix), -(-MIN_COLUMNS // npix), 1))
    for n0 in range(0, n, nb):
        n1 = min(n, n0 + nb)
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
