"""Every fast path of the NumPy reference equals the naive loop (tests/support/loopref.py).

A seeded sweep rather than hypothesis, so that every combination below is always run: each
strategy (forced) x float64 / float32 accumulation, on problems covering every stride/dilation pair
in 1..3, 1-D, 2-D and 3-D, negative and positive crops, dense layers, groups of several channels and
depthwise layers (one channel per group, and a channel multiplier); with tiny scratch chunks (many
batch/group blocks) and with the default ones.  Integer-valued data: every partial sum
is exact in float32 too, so the results must be equal, not close.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from convtx.harness.core import reference
from convtx.harness.core.problem import Axis, Geometry
from convtx.harness.core.reference_plan import chunk_blocks, plans_of
from support.loopref import conv_transpose_loop

GROUPINGS = [(1, 2, 3), (2, 2, 2), (4, 1, 1), (3, 1, 2)]  # (groups, c_in/G, c_out/G): dense, grouped, depthwise, multiplier


def _geometry(seed: int, nd: int, s: int, d: int) -> Geometry:
    rng = np.random.default_rng(seed)
    groups, cin_g, cout_g = GROUPINGS[seed % len(GROUPINGS)]
    size = [int(rng.integers(1, 5 if nd < 3 else 4)) for _ in range(nd)]
    kernel = [int(rng.integers(1, 4)) for _ in range(nd)]
    axes = []
    for a, (i, k) in enumerate(zip(size, kernel)):
        stride, dil = (s, d) if a == nd - 1 else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        full = (i - 1) * stride + dil * (k - 1) + 1
        lo = int(rng.integers(-2, full))  # negative: zeros appended; positive: cropped
        hi = int(rng.integers(-2, full - lo))
        axes.append(Axis(stride, dil, lo, hi))
    return Geometry("conv_transpose", int(rng.integers(1, 3)), groups * cin_g, groups * cout_g, groups,
                    tuple(size), tuple(kernel), tuple(axes))


PROBLEMS = [_geometry(17 * nd + 5 * s + d, nd, s, d) for nd in (1, 2, 3) for s in (1, 2, 3) for d in (1, 2, 3)]


def _tensors(g: Geometry, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (rng.integers(-3, 4, g.input_shape).astype(float), rng.integers(-3, 4, g.weight_shape).astype(float))


@pytest.mark.parametrize("strategy", reference.STRATEGIES)
def test_every_strategy_equals_the_loop(strategy, monkeypatch):
    monkeypatch.setattr(reference, "CHUNK", 7)  # one image and one group per block: every block boundary
    for g in PROBLEMS:
        x, w = _tensors(g)
        want = conv_transpose_loop(x, w, None, g)
        for acc in (np.float64, np.float32):
            got = reference.conv_transpose_cropped(x, w, g, g.crops, acc, strategy=strategy)
            assert got.dtype == acc and got.shape == want.shape, f"{strategy} [{g.describe()}]"
            np.testing.assert_array_equal(got, want, err_msg=f"{strategy} {np.dtype(acc).name} [{g.describe()}]")


@pytest.mark.parametrize("strategy", reference.STRATEGIES)
def test_large_chunks_equal_the_loop(strategy):
    for g in PROBLEMS[::2]:
        x, w = _tensors(g, 1)
        got = reference.conv_transpose_cropped(x.astype(np.float32), w.astype(np.float32), g, g.crops, np.float32,
                                               strategy=strategy)
        np.testing.assert_array_equal(got, conv_transpose_loop(x, w, None, g), err_msg=f"{strategy} [{g.describe()}]")


def test_depthwise_and_dilated_layers_choose_a_fast_path_and_equal_the_loop():
    layers = [Geometry("conv_transpose", 2, 6, 6, 6, (5, 7), (4, 4), (Axis(2, 1, 1, 1),) * 2),  # depthwise k4 s2 p1
              Geometry("conv_transpose", 2, 4, 4, 1, (6, 5), (3, 3), (Axis(1, 2, 2, 2),) * 2),  # dilated, stride 1
              Geometry("conv_transpose", 1, 3, 2, 1, (7,), (3,), (Axis(2, 3, 1, 0),)),  # gcd(s, d) = 1, s, d > 1
              Geometry("conv_transpose", 1, 2, 4, 2, (3, 2, 4), (2, 2, 2), (Axis(2, 1, 0, 0),) * 3)]  # kernel = stride
    for g in layers:
        x, w = _tensors(g, 2)
        for acc in (np.float64, np.float32):
            strategy = reference.choose_strategy(g, plans_of(g, g.crops), np.dtype(acc))
            assert strategy in reference.STRATEGIES
            np.testing.assert_array_equal(reference.conv_transpose(x, w, None, g, acc), conv_transpose_loop(x, w, None, g),
                                          err_msg=f"{strategy} [{g.describe()}]")


def test_float32_mode_is_float32_close_on_random_floats():
    rng = np.random.default_rng(3)
    for g, strategy in itertools.product(PROBLEMS[9:18], reference.STRATEGIES):
        x = rng.uniform(-1, 1, g.input_shape).astype(np.float32)
        w = rng.uniform(-1, 1, g.weight_shape).astype(np.float32)
        want = conv_transpose_loop(x.astype(float), w.astype(float), None, g)
        got = reference.conv_transpose_cropped(x, w, g, g.crops, np.float32, strategy=strategy)
        terms = int(np.prod(g.kernel)) * g.in_channels // g.groups
        np.testing.assert_allclose(got, want, rtol=0, atol=4 * terms * np.finfo(np.float32).eps, err_msg=strategy)


@pytest.mark.parametrize("n, groups, unit, chunk", [(5, 3, 10, 25), (1, 32, 100, 10 ** 6), (16, 1, 7, 1), (3, 4, 1, 100)])
def test_blocks_cover_every_image_and_group_once(n, groups, unit, chunk):
    blocks = chunk_blocks(n, groups, unit, chunk)
    cells = [(i, j) for n0, n1, g0, g1 in blocks for i in range(n0, n1) for j in range(g0, g1)]
    assert sorted(cells) == list(itertools.product(range(n), range(groups)))
    assert all((n1 - n0) * (g1 - g0) * unit <= max(chunk, unit) for n0, n1, g0, g1 in blocks)
