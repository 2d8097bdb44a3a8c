"""The vectorised NumPy reference equals a naive loop implementation on hypothesis-drawn problems."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from convtx.harness.core import reference
from convtx.harness.core.problem import Axis, Geometry
from support.loopref import conv_loop, conv_transpose_loop


@st.composite
def geometries(draw, op: str):
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 2))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    in_size = tuple(draw(st.integers(1, 4 if nd < 3 else 3)) for _ in range(nd))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    axes = []
    for i, k in zip(in_size, kernel):
        s, d = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        if op == "conv_transpose":
            L = (i - 1) * s + d * (k - 1) + 1
            lo = draw(st.integers(-2, L - 1))
            hi = draw(st.integers(-2, L - 1 - lo))
        else:
            K = d * (k - 1) + 1
            lo = draw(st.integers(-1, 2))
            low = max(-1, K - i - lo)
            hi = draw(st.integers(low, max(low, 2)))
        axes.append(Axis(s, d, lo, hi))
    return Geometry(op, draw(st.integers(1, 2)), cin, cout, groups, in_size, kernel, tuple(axes),
                    has_bias=draw(st.booleans()))


def tensors(g: Geometry, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, g.input_shape).astype(float)
    w = rng.integers(-3, 4, g.weight_shape).astype(float)
    b = rng.integers(-3, 4, g.out_channels).astype(float) if g.has_bias else None
    return x, w, b


@settings(max_examples=150, deadline=None)
@given(geometries("conv_transpose"), st.integers(0, 2**16))
def test_conv_transpose_matches_loop(g, seed):
    x, w, b = tensors(g, seed)
    got = reference.conv_transpose(x, w, b, g)
    want = conv_transpose_loop(x, w, b, g)
    assert got.shape == want.shape == g.output_shape, f"out.shape={got.shape}, but should be {want.shape} [{g.describe()}]"
    np.testing.assert_array_equal(got, want, err_msg=g.describe())


@settings(max_examples=150, deadline=None)
@given(geometries("conv"), st.integers(0, 2**16))
def test_conv_matches_loop(g, seed):
    x, w, b = tensors(g, seed)
    got = reference.conv(x, w, b, g)
    want = conv_loop(x, w, b, g)
    assert got.shape == want.shape == g.output_shape, f"out.shape={got.shape}, but should be {want.shape} [{g.describe()}]"
    np.testing.assert_array_equal(got, want, err_msg=g.describe())


def test_float32_accumulation_mode_is_close():
    g = Geometry("conv_transpose", 2, 4, 6, 2, (5, 5), (3, 3), (Axis(2, 1, 1, 0), Axis(2, 1, 1, 0)))
    x, w, _ = tensors(g, 0)
    full64 = reference.conv_transpose(x, w, None, g)
    full32 = reference.conv_transpose(x, w, None, g, accumulate=np.float32)
    assert full32.dtype == np.float32
    np.testing.assert_allclose(full32, full64, rtol=1e-6)
