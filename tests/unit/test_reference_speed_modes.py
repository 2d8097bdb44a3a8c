"""Every strategy of the fast NumPy reference, in float64 and in its float32 mode, equals the naive loop.

test_reference_vs_loop.py checks the automatic choice; here each strategy is forced (gather and
scatter, channels-first and channels-last), with tiny batch chunks so that the chunking is
exercised too.  On integer-valued data every partial sum is an integer far below 2**24, so even
the float32 mode must equal the loop exactly; on random floats it must stay within float32
rounding of the float64 result.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import test_reference_vs_loop as base
from convtx.harness.core import reference
from convtx.harness.core.problem import Axis, Geometry
from support.loopref import conv_transpose_loop


@settings(max_examples=200, deadline=None)
@given(base.geometries("conv_transpose"), st.integers(0, 2**16), st.sampled_from(reference.STRATEGIES),
       st.sampled_from([np.float64, np.float32]), st.integers(1, 64))
def test_every_strategy_and_mode_matches_loop(g, seed, strategy, accumulate, chunk):
    x, w, b = base.tensors(g, seed)
    want = conv_transpose_loop(x, w, None, g)
    saved = reference.CHUNK
    reference.CHUNK = chunk
    try:
        got = reference.conv_transpose_cropped(x, w, g, g.crops, accumulate, strategy=strategy)
    finally:
        reference.CHUNK = saved
    assert got.dtype == accumulate
    assert got.shape == want.shape == g.output_shape, f"{strategy}: {got.shape} != {want.shape} [{g.describe()}]"
    np.testing.assert_array_equal(got, want, err_msg=f"{strategy} {np.dtype(accumulate).name} [{g.describe()}]")


@settings(max_examples=60, deadline=None)
@given(base.geometries("conv_transpose"), st.integers(0, 2**16), st.sampled_from(reference.STRATEGIES))
def test_full_output_is_the_zero_crop(g, seed, strategy):
    x, w, _ = base.tensors(g, seed)
    g0 = Geometry("conv_transpose", g.batch, g.in_channels, g.out_channels, g.groups, g.in_size, g.kernel,
                  tuple(Axis(a.stride, a.dilation, 0, 0) for a in g.axes))
    full = reference.full_conv_transpose(x, w, g)
    np.testing.assert_array_equal(full, conv_transpose_loop(x, w, None, g0))
    np.testing.assert_array_equal(reference.crop(full, g.crops),
                                  reference.conv_transpose_cropped(x, w, g, g.crops, strategy=strategy))


LAYERS = [  # (geometry, what it exercises)
    (Geometry("conv_transpose", 3, 16, 8, 1, (4, 4), (4, 4), (Axis(2, 1, 1, 1),) * 2), "dcgan-like, k4 s2 p1"),
    (Geometry("conv_transpose", 2, 8, 8, 8, (6, 5), (4, 4), (Axis(2, 1, 1, 1),) * 2), "depthwise"),
    (Geometry("conv_transpose", 2, 6, 4, 2, (5,), (16,), (Axis(8, 1, 4, 4),)), "1-d, k16 s8 p4, groups 2"),
    (Geometry("conv_transpose", 1, 4, 3, 1, (3, 4, 2), (2, 2, 2), (Axis(2, 1, 0, 0),) * 3), "3-d, k = s"),
    (Geometry("conv_transpose", 2, 4, 6, 2, (16, 17), (2, 2), (Axis(2, 1, 0, 0),) * 2), "k = s, no im2col"),
    (Geometry("conv_transpose", 2, 5, 7, 1, (7, 6), (3, 3), (Axis(1, 2, 2, 2),) * 2), "dilated, stride 1"),
    (Geometry("conv_transpose", 2, 3, 2, 1, (4, 3), (2, 3), (Axis(3, 1, -2, 1), Axis(2, 2, 0, -3))),
     "negative crops (zeros appended)"),
]


@pytest.mark.parametrize("strategy", reference.STRATEGIES)
@pytest.mark.parametrize("g, what", LAYERS, ids=[what for _, what in LAYERS])
def test_float32_mode_is_float32_close_on_random_data(g, what, strategy):
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, g.input_shape).astype(np.float32)
    w = rng.uniform(-1, 1, g.weight_shape).astype(np.float32)
    b = rng.uniform(-1, 1, g.out_channels)
    full64 = reference.conv_transpose(x, w, b, g)
    assert full64.dtype == np.float64
    got64 = reference.conv_transpose_cropped(x, w, g, g.crops, strategy=strategy) + b.reshape(1, -1, *[1] * g.ndim)
    np.testing.assert_allclose(got64, conv_transpose_loop(x.astype(float), w.astype(float), b, g), rtol=1e-12,
                               atol=1e-12, err_msg=what)
    got32 = reference.conv_transpose_cropped(x, w, g, g.crops, np.float32, strategy=strategy)
    assert got32.dtype == np.float32
    terms = int(np.prod(g.kernel)) * g.in_channels // g.groups
    np.testing.assert_allclose(got32 + b.reshape(1, -1, *[1] * g.ndim), full64, rtol=0,
                               atol=4 * terms * np.finfo(np.float32).eps, err_msg=what)


def test_automatic_choice_is_a_known_strategy_and_float32_mode_keeps_its_dtype():
    for g, _ in LAYERS:
        plans = [reference.axis_plan(i, k, a.stride, a.dilation, a.lo, a.hi)
                 for i, k, a in zip(g.in_size, g.kernel, g.axes)]
        for acc in (np.float64, np.float32):
            assert reference.choose_strategy(g, plans, np.dtype(acc)) in reference.STRATEGIES
        x = np.ones(g.input_shape, dtype=np.float64)
        w = np.ones(g.weight_shape, dtype=np.float64)
        assert reference.conv_transpose(x, w, None, g, accumulate=np.float32).dtype == np.float32
