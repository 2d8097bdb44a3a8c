"""A deliberately naive, loop-per-element implementation of the crop model, for testing only.

It shares nothing with the vectorised reference but the canonical Geometry: every output element
is computed by walking every input element and kernel tap.
"""

from __future__ import annotations

import itertools

import numpy as np


def conv_transpose_loop(x, w, b, g):
    out = np.zeros(g.output_shape)
    cin_g, cout_g = g.in_channels // g.groups, g.out_channels // g.groups
    for n, ci in itertools.product(range(g.batch), range(g.in_channels)):
        grp = ci // cin_g
        for y in itertools.product(*(range(i) for i in g.in_size)):
            for co_l in range(cout_g):
                co = grp * cout_g + co_l
                for tap in itertools.product(*(range(k) for k in g.kernel)):
                    pos = tuple(yi * a.stride + t * a.dilation - a.lo for yi, t, a in zip(y, tap, g.axes))
                    if all(0 <= p < o for p, o in zip(pos, g.out_size)):
                        out[(n, co, *pos)] += x[(n, ci, *y)] * w[(ci, co_l, *tap)]
    if b is not None:
        for co in range(g.out_channels):
            out[:, co] += b[co]
    return out


def conv_loop(x, w, b, g):
    out = np.zeros(g.output_shape)
    cin_g, cout_g = g.in_channels // g.groups, g.out_channels // g.groups
    for n, co in itertools.product(range(g.batch), range(g.out_channels)):
        grp = co // cout_g
        for o in itertools.product(*(range(s) for s in g.out_size)):
            acc = 0.0 if b is None else b[co]
            for ci_l in range(cin_g):
                for tap in itertools.product(*(range(k) for k in g.kernel)):
                    pos = tuple(oi * a.stride + t * a.dilation - a.lo for oi, t, a in zip(o, tap, g.axes))
                    if all(0 <= p < i for p, i in zip(pos, g.in_size)):
                        acc += x[(n, grp * cin_g + ci_l, *pos)] * w[(co, ci_l, *tap)]
            out[(n, co, *o)] = acc
    return out
