"""The mathematical checks: properties that prove the reference (and each framework) right without
trusting any one framework's output.

- adjoint: <conv(x, w), y> = <x, conv_transpose(y, w)> for matching stride, dilation and padding
  (the transposed convolution IS the adjoint of the forward one), for the reference and for every
  framework that can express both calls;
- gradient: the gradient of a forward convolution with respect to its input equals the transposed
  convolution of the cotangent (torch.autograd, jax.vjp, tf.GradientTape vs the reference);
- shapes: the transposed-convolution relationships 8-14 of Dumoulin & Visin, "A guide to
  convolution arithmetic for deep learning" (arXiv:1603.07285), against the reference and the
  output shape every framework actually produces;
- round trip: conv then conv_transpose with the same k, s, p gives the input size back exactly
  when (i + 2p - k) is divisible by s; otherwise output_padding a = (i + 2p - k) mod s picks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convtx.adapters import REFERENCE
from convtx.harness.core import reference
from convtx.harness.core.problem import Axis, Geometry, output_length

SAMPLES = [  # (in_size, kernel, stride, dilation, pads (lo, hi) per axis, C_in, C_out, groups)
    ((5,), (3,), (2,), (1,), ((1, 1),), 2, 3, 1),
    ((7,), (4,), (3,), (1,), ((0, 2),), 1, 2, 1),
    ((6, 5), (3, 2), (2, 1), (1, 2), ((1, 0), (0, 1)), 2, 2, 1),
    ((8, 8), (4, 4), (2, 2), (1, 1), ((1, 1), (1, 1)), 4, 4, 2),
    ((9, 4), (3, 3), (3, 1), (1, 1), ((2, 2), (1, 1)), 3, 6, 3),
    ((4, 4, 3), (2, 3, 2), (2, 1, 1), (1, 1, 1), ((0, 0), (1, 1), (1, 0)), 2, 2, 1),
    ((7, 7), (3, 3), (2, 2), (1, 1), ((1, 1), (1, 1)), 3, 2, 1),  # symmetric: every framework can say both
    ((6,), (3,), (1,), (2,), ((2, 2),), 2, 2, 1),
    ((4, 5, 4), (3, 3, 3), (1, 1, 1), (1, 1, 1), ((1, 1), (1, 1), (1, 1)), 1, 2, 1),
]


@dataclass
class CheckResult:
    check: str  # an id: adjoint-3, gradient-0, shape-rel-9, round-trip
    framework: str
    status: str  # pass | fail | error | not_expressible | unsupported | skipped | xfail
    detail: str
    geometry: Geometry | None = field(default=None, repr=False)  # the call the check made (known bugs read it)
    args: dict | None = field(default=None, repr=False)  # its native arguments


def pair(sample) -> tuple[Geometry, Geometry]:
    """The forward convolution and its transpose (same weight array, output size = the conv's input)."""
    size, kernel, stride, dil, pads, cin, cout, groups = sample
    axes = tuple(Axis(s, d, lo, hi) for s, d, (lo, hi) in zip(stride, dil, pads))
    fwd = Geometry("conv", 1, cin, cout, groups, size, kernel, axes)
    out = fwd.out_size
    t_axes = []
    for i, o, k, a in zip(size, out, kernel, axes):
        full = (o - 1) * a.stride + a.dilation * (k - 1) + 1
        t_axes.append(Axis(a.stride, a.dilation, a.lo, full - a.lo - i))
    return fwd, Geometry("conv_transpose", 1, cout, cin, groups, out, kernel, tuple(t_axes))


def sample_data(fwd: Geometry, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, fwd.input_shape)
    w = rng.uniform(-1, 1, fwd.weight_shape)
    y = rng.uniform(-1, 1, fwd.output_shape)
    return x, w, y


def reference_adjoint() -> list[CheckResult]:
    out = []
    for n, sample in enumerate(SAMPLES):
        fwd, tr = pair(sample)
        x, w, y = sample_data(fwd, n)
        lhs = float(np.vdot(reference.conv(x, w, None, fwd), y))
        rhs = float(np.vdot(x, reference.conv_transpose(y, w, None, tr)))
        rel = abs(lhs - rhs) / max(abs(lhs), 1e-300)
        out.append(CheckResult(f"adjoint-{n}", REFERENCE, "pass" if rel < 1e-12 else "fail",
                               f"{fwd.describe()}: <conv(x,w),y> = {lhs:.12g}, <x,conv_T(y,w)> = {rhs:.12g} "
                               f"(relative difference {rel:.1e})"))
    return out


def shape_table() -> list[dict]:
    """Rows of relationships 8-14 (unit and non-unit strides, zero/half/full padding)."""
    rows = []

    def row(rel, what, i, k, s, p, a=0):
        rows.append({"relationship": rel, "what": what, "i": i, "k": k, "s": s, "p": p, "a": a,
                     "formula": {8: "o' = i' + (k-1)", 9: "o' = i' + (k-1) - 2p", 10: "o' = i'",
                                 11: "o' = i' - (k-1)", 12: "o' = s(i'-1) + k", 13: "o' = s(i'-1) + k - 2p",
                                 14: "o' = s(i'-1) + a + k - 2p"}[rel],
                     "expected": {8: i + k - 1, 9: i + k - 1 - 2 * p, 10: i, 11: i - (k - 1), 12: s * (i - 1) + k,
                                  13: s * (i - 1) + k - 2 * p, 14: s * (i - 1) + a + k - 2 * p}[rel]})
    row(8, "no padding, unit stride", 4, 3, 1, 0)
    row(9, "padding p, unit stride", 5, 4, 1, 2)
    row(10, "half padding (k = 2p+1)", 5, 3, 1, 1)
    row(11, "full padding (p = k-1)", 7, 3, 1, 2)
    row(12, "no padding, stride s", 2, 3, 2, 0)
    row(13, "padding, stride s, (i+2p-k) divisible by s", 3, 3, 2, 1)
    row(14, "padding, stride s, a = (i+2p-k) mod s", 3, 3, 2, 1, 1)
    return rows


def shape_geometry(r: dict) -> Geometry:
    axes = tuple(Axis(r["s"], 1, r["p"], r["p"] - r["a"]) for _ in range(2))
    return Geometry("conv_transpose", 1, 1, 1, 1, (r["i"], r["i"]), (r["k"], r["k"]), axes)


def reference_shapes() -> list[CheckResult]:
    out = []
    for r in shape_table():
        g = shape_geometry(r)
        got = reference.conv_transpose(np.ones(g.input_shape), np.ones(g.weight_shape), None, g).shape[2]
        ok = got == r["expected"] == g.out_size[0]
        out.append(CheckResult(f"shape-rel-{r['relationship']}", REFERENCE, "pass" if ok else "fail",
                               f"{r['what']}: i'={r['i']} k={r['k']} s={r['s']} p={r['p']} a={r['a']}: "
                               f"{r['formula']} = {r['expected']}, reference gives {got}"))
    return out


def round_trip() -> list[CheckResult]:
    """Over a grid: conv then conv_transpose (torch's padding p, output_padding a) returns i."""
    bad, total = [], 0
    for i in range(3, 13):
        for k in range(1, 6):
            for s in range(1, 4):
                for p in range(0, k):
                    span = i + 2 * p - k
                    if span < 0:
                        continue
                    total += 1
                    o = output_length("conv", i, k, Axis(s, 1, p, p))
                    back0 = output_length("conv_transpose", o, k, Axis(s, 1, p, p))
                    a = span % s
                    back = output_length("conv_transpose", o, k, Axis(s, 1, p, p - a))
                    if (back0 == i) != (span % s == 0) or back != i:
                        bad.append((i, k, s, p))
    return [CheckResult("round-trip", REFERENCE, "fail" if bad else "pass",
                        f"{total} (i, k, s, p) combinations: exact with output_padding 0 iff (i+2p-k) % s == 0, "
                        f"and always with output_padding (i+2p-k) % s" + (f"; failures: {bad[:5]}" if bad else ""))]


def reference_checks() -> list[CheckResult]:
    return reference_adjoint() + reference_shapes() + round_trip()


def as_json(results: list[CheckResult]) -> list[dict]:
    return [{"check": r.check, "framework": r.framework, "status": r.status, "detail": r.detail} for r in results]


__all__ = ["CheckResult", "SAMPLES", "pair", "reference_checks", "shape_table", "shape_geometry"]


def check_ids() -> list[str]:
    """Every check id, for matching xfail entries."""
    ids = [f"{kind}-{n}" for kind in ("adjoint", "gradient") for n in range(len(SAMPLES))]
    return ids + [f"shape-rel-{r['relationship']}" for r in shape_table()] + ["round-trip"]
