"""The paddle dialect, and the paddle, tinygrad and flax adapters against the NumPy reference.

Cases are written to a temporary folder in each framework's own terms (asymmetric kernels, so a
wrong flip or transposition shows), their expected tensors computed by the NumPy reference, and
run through `run_suite`: one module-scoped run per framework (each import costs seconds).
"""

from __future__ import annotations

import math

import pytest

from convtx.harness import semantics
from convtx.harness.engine import knownbugs
from convtx.harness.caseformat.casefile import load_suite, validate
from convtx.harness.caseformat.writer import dump, plain_numbers
from convtx.harness.commands.new import compute_expected
from convtx.harness.core.problem import Axis, Geometry
from convtx.harness.engine.runner import RunOptions, run_suite
from convtx.harness.caseformat.yamlsrc import load_yaml
from support.frameworks import require


def rnd(shape, seed):
    return {"shape": list(shape), "random": seed}


def write_suite(directory, cases: list[dict]):
    """Write `cases` (expected computed by the NumPy reference unless given) and load them."""
    docs = []
    for data in cases:
        data = dict(data)
        if "expected" not in data:
            draft = load_yaml(str(directory / "draft.yaml"), dump(data))
            entry = validate(draft, draft.mark, pending_expected=True)
            data["expected"] = plain_numbers(compute_expected(entry, "numpy"))
        docs.append(data)
    path = directory / "cases.yaml"
    path.write_text(dump(docs), encoding="utf-8")
    suite = load_suite([str(path)])
    assert not suite.errors, suite.errors
    return suite


def run_on(framework: str, directory, cases: list[dict]) -> dict:
    require(framework)
    suite = write_suite(directory, cases)
    result = run_suite(suite, ["numpy", framework], opts=RunOptions(known_bugs=knownbugs.load([framework])))
    assert result.frameworks[framework], result.environment
    return {r.case: r for r in result.results if r.framework == framework}


def passed(verdicts: dict, case: str):
    r = verdicts[case]
    assert r.status == "pass", f"{case}: {r.status}: {r.note} [{r.call}]"
    return r


# Shared cases, written in other frameworks' terms: each adapter gets them translated.
W3 = [[[[1, 2, 0], [0, 1, 0], [3, 0, 1]]]]
TRANSLATED = [
    {"id": "torch-k3-s2-p1-op1", "framework": "torch", "args": {"stride": 2, "padding": 1, "output_padding": 1},
     "input": rnd((1, 2, 3, 4), 1), "weight": rnd((2, 3, 3, 2), 2)},
    {"id": "torch-groups-bias", "framework": "torch", "args": {"stride": 2, "padding": 1, "groups": 2},
     "input": rnd((1, 4, 3, 3), 3), "weight": rnd((4, 2, 3, 2), 4), "bias": rnd((4,), 5)},
    {"id": "keras-same-k3-s2", "framework": "keras", "args": {"strides": 2, "padding": "same"},
     "input": rnd((1, 3, 4, 2), 6), "weight": rnd((3, 2, 3, 2), 7)},
    {"id": "jax-zeros-at-start", "framework": "jax", "args": {"strides": [2], "padding": [[3, 1]]},
     "input": rnd((1, 3, 1), 8), "weight": rnd((3, 1, 2), 9)},
    {"id": "jax-conv-nchw-groups", "framework": "jax", "op": "conv",
     "args": {"window_strides": [1, 2], "padding": [[1, 0], [0, 2]], "feature_group_count": 2},
     "input": rnd((1, 4, 4, 5), 10), "weight": rnd((2, 2, 2, 3), 11)},
]


# ---------------------------------------------------------------------------- paddle dialect

def paddle_geometry(args, x_shape, w_shape, op="conv_transpose"):
    return semantics.read("paddle", op, args, x_shape, w_shape, False).geometry


@pytest.mark.parametrize("i,k,s", [(i, k, s) for i in range(1, 7) for k in (1, 2, 3, 4) for s in (1, 2, 3)])
def test_paddle_same_reading(i, k, s):
    g = paddle_geometry({"stride": s, "padding": "SAME", "dilation": 2}, (1, 1, i), (1, 1, k))
    total = max((math.ceil(i / s) - 1) * s + k - i, 0)
    assert g.axes == (Axis(s, 1, total // 2, total - total // 2),)  # the dilation is ignored
    if i % s == 0 and k >= s:
        assert g.out_size == (i * s,)


def test_paddle_explicit_spellings():
    x, w = (1, 2, 5, 6), (2, 3, 3, 3)
    assert paddle_geometry({"stride": 2, "padding": 1, "output_padding": 1}, x, w).crops == ((1, 0), (1, 0))
    assert paddle_geometry({"stride": 2, "padding": [1, 0, 0, 2]}, x, w).crops == ((1, 0), (0, 2))
    pairs = {"stride": 2, "padding": [[0, 0], [0, 0], [1, 0], [0, 2]]}
    assert paddle_geometry(pairs, x, w).crops == ((1, 0), (0, 2))
    nhwc = {"stride": 2, "padding": [[0, 0], [1, 0], [0, 2], [0, 0]], "data_format": "NHWC"}
    assert paddle_geometry(nhwc, (1, 5, 6, 2), w).crops == ((1, 0), (0, 2))
    assert paddle_geometry({"stride": 3, "padding": "valid", "output_padding": 2}, x, w).crops == ((0, -2), (0, -2))
    assert paddle_geometry({"stride": 2, "padding": 1, "output_size": [10, 12]}, x, w).crops == ((1, 0), (1, 0))
    conv = paddle_geometry({"stride": 2, "padding": "SAME", "dilation": 2}, (1, 2, 5, 6), (3, 2, 3, 3), "conv")
    assert conv.crops == ((1, 1), (0, 1)) and all(a.dilation == 1 for a in conv.axes)


@pytest.mark.parametrize("args,message", [
    ({"stride": 1, "dilation": 2, "output_padding": 1}, "smaller than stride"),
    ({"stride": 2, "output_padding": 1, "output_size": [10, 12]}, "mutually exclusive"),
    ({"stride": 2, "output_size": [12, 12]}, "between"),
    ({"padding": [[1, 0], [0, 0], [0, 0], [0, 0]]}, "batch or channel"),
])
def test_paddle_refusals(args, message):
    with pytest.raises(semantics.InvalidArguments, match=message):
        paddle_geometry(args, (1, 2, 5, 6), (2, 3, 3, 3))


@pytest.mark.parametrize("crops", [((1, 0), (0, 1)), ((0, -1), (2, 2)), ((1, 1), (0, 0))])
def test_paddle_express_reads_back(crops):
    g = Geometry("conv_transpose", 1, 2, 3, 1, (3, 4), (3, 2), tuple(Axis(2, 1, lo, hi) for lo, hi in crops))
    reading = semantics.express("paddle", g)
    assert not isinstance(reading, semantics.NotExpressible), reading
    assert reading.geometry == g


def test_paddle_cannot_add_zeros_at_the_start():
    g = Geometry("conv_transpose", 1, 1, 1, 1, (3,), (2,), (Axis(2, 1, -1, 0),))
    result = semantics.express("paddle", g)
    assert isinstance(result, semantics.NotExpressible) and "at the start" in result.reason


# ---------------------------------------------------------------------------- paddle

SAME_GRID = [(i, k, s) for i in (3, 4, 5, 6) for k in (2, 3) for s in (2, 3)]


@pytest.fixture(scope="module")
def paddle_run(tmp_path_factory):
    cases = list(TRANSLATED) + [
        {"id": f"paddle-same-i{i}-k{k}-s{s}", "framework": "paddle", "args": {"stride": s, "padding": "SAME"},
         "input": rnd((1, 1, i), i), "weight": rnd((1, 1, k), k)} for i, k, s in SAME_GRID]
    cases += [
        {"id": "paddle-nhwc-pairs-groups", "framework": "paddle",
         "args": {"stride": [2, 1], "padding": [[0, 0], [1, 0], [0, 2], [0, 0]], "groups": 2, "data_format": "NHWC"},
         "input": rnd((1, 3, 4, 4), 20), "weight": rnd((4, 1, 3, 3), 21), "bias": rnd((2,), 22)},
        {"id": "paddle-same-dilation-2d", "framework": "paddle",
         "args": {"stride": [2, 3], "padding": "same", "dilation": [2, 3]},
         "input": {"shape": [1, 1, 3, 4], "arange": 1}, "weight": W3},
        {"id": "paddle-op-refused", "framework": "paddle", "args": {"stride": 1, "dilation": 2, "output_padding": 1},
         "input": rnd((1, 1, 3), 23), "weight": rnd((1, 1, 3), 24),
         "expected": {"invalid": "output_padding must be smaller than the stride on paddle's CPU"}},
        {"id": "torch-dilation-op", "framework": "torch", "args": {"dilation": 2, "output_padding": 1},
         "input": rnd((1, 1, 3), 25), "weight": rnd((1, 1, 3), 26)},
        {"id": "torch-float16", "framework": "torch", "dtype": "float16", "args": {"stride": 2},
         "input": rnd((1, 1, 3, 3), 27), "weight": rnd((1, 1, 3, 3), 28)},
    ]
    return run_on("paddle", tmp_path_factory.mktemp("paddle"), cases)


def test_paddle_same_rule_matches_real_paddle(paddle_run):
    for i, k, s in SAME_GRID:
        r = passed(paddle_run, f"paddle-same-i{i}-k{k}-s{s}")
        assert (r.shape[-1] == i * s) == (i % s == 0 and k >= s), (i, k, s, r.shape)


def test_paddle_layouts_and_translations(paddle_run):
    for case in ("paddle-nhwc-pairs-groups", "paddle-same-dilation-2d"):
        passed(paddle_run, case)
    r = passed(paddle_run, "torch-k3-s2-p1-op1")
    assert "stride=2, padding=1, output_padding=1" in r.call
    assert "padding=[0, 1, 0, 0]" in passed(paddle_run, "keras-same-k3-s2").call
    assert "groups=2" in passed(paddle_run, "torch-groups-bias").call
    assert "padding=[1, 0, 0, 2]" in passed(paddle_run, "jax-conv-nchw-groups").call


def test_paddle_limits(paddle_run):
    assert paddle_run["paddle-op-refused"].status == "pass"  # refused, as the case declares
    assert paddle_run["jax-zeros-at-start"].status == "not_expressible"
    assert paddle_run["torch-dilation-op"].status == "not_expressible"
    assert "output_padding < stride" in paddle_run["torch-dilation-op"].note
    # this build's CPU kernels have no float16 convolution: computed, or refused in paddle's own words
    r = paddle_run["torch-float16"]
    assert r.status == "pass" or (r.status == "unsupported" and "float16" in r.note), r.note


# ---------------------------------------------------------------------------- tinygrad

@pytest.fixture(scope="module")
def tinygrad_run(tmp_path_factory):
    cases = list(TRANSLATED) + [
        {"id": "torch-output-size", "framework": "torch", "args": {"stride": 2, "padding": 1, "output_size": [6, 5]},
         "input": rnd((1, 1, 3, 3), 30), "weight": rnd((1, 1, 3, 3), 31)},
        {"id": "torch-conv-same-even", "framework": "torch", "op": "conv", "args": {"padding": "same", "dilation": [1, 2]},
         "input": rnd((1, 2, 5, 6), 32), "weight": rnd((3, 2, 4, 3), 33)},
        {"id": "torch-3d-op", "framework": "torch", "args": {"stride": [2, 1, 3], "padding": [1, 0, 1],
                                                              "output_padding": [1, 0, 2]},
         "input": rnd((1, 2, 2, 3, 2), 34), "weight": rnd((2, 1, 3, 2, 3), 35)},
        {"id": "torch-float16", "framework": "torch", "dtype": "float16", "args": {"stride": 2, "padding": 1},
         "input": rnd((1, 2, 3, 3), 36), "weight": rnd((2, 2, 3, 3), 37)},
    ]
    return run_on("tinygrad", tmp_path_factory.mktemp("tinygrad"), cases)


def test_tinygrad_k3_s2_p1_op1_and_groups(tinygrad_run):
    r = passed(tinygrad_run, "torch-k3-s2-p1-op1")
    assert r.call.startswith("Tensor(x).conv_transpose2d(Tensor(w), stride=2, padding=1, output_padding=1")
    r = passed(tinygrad_run, "torch-groups-bias")
    assert "bias=Tensor(b)" in r.call and "groups=2" in r.call


def test_tinygrad_literal_mappings(tinygrad_run):
    assert "output_padding=[1, 0]" in passed(tinygrad_run, "torch-output-size").call
    assert "padding=[2, 2, 1, 2]" in passed(tinygrad_run, "torch-conv-same-even").call  # last axis first
    for case in ("torch-3d-op", "torch-float16"):
        passed(tinygrad_run, case)


def test_tinygrad_per_side_fallback(tinygrad_run):
    """Crops torch cannot say (Keras 'same', zeros at the start, asymmetric conv pads) go per side."""
    assert "padding=[0, 0, 0, 1]" in passed(tinygrad_run, "keras-same-k3-s2").call
    assert "padding=[-1, 1]" in passed(tinygrad_run, "jax-zeros-at-start").call
    assert "padding=[0, 2, 1, 0]" in passed(tinygrad_run, "jax-conv-nchw-groups").call


# ---------------------------------------------------------------------------- flax

@pytest.fixture(scope="module")
def flax_run(tmp_path_factory):
    cases = list(TRANSLATED) + [
        {"id": "jax-legacy-pairs", "framework": "jax", "args": {"strides": [2, 2], "padding": [[1, 2], [0, 1]]},
         "input": rnd((1, 3, 4, 2), 40), "weight": rnd((3, 2, 2, 3), 41)},
        {"id": "jax-transpose-kernel-nchw", "framework": "jax",
         "args": {"strides": [2, 1], "padding": "SAME", "transpose_kernel": True,
                  "dimension_numbers": ["NCHW", "OIHW", "NCHW"], "rhs_dilation": [1, 2]},
         "input": rnd((1, 2, 3, 4), 42), "weight": rnd((2, 3, 3, 2), 43)},
        {"id": "jax-consistent", "framework": "jax",
         "args": {"strides": [2], "padding": [[1, 0]], "use_consistent_padding": True},
         "input": rnd((1, 3, 1), 44), "weight": rnd((3, 1, 1), 45)},
        {"id": "torch-float64", "framework": "torch", "dtype": "float64", "args": {"stride": 3, "padding": 2},
         "input": rnd((1, 2, 4, 3), 46), "weight": rnd((2, 1, 4, 4), 47), "bias": rnd((1,), 48)},
    ]
    return run_on("flax", tmp_path_factory.mktemp("flax"), cases)


def test_flax_k3_s2_p1_op1_and_groups(flax_run):
    r = passed(flax_run, "torch-k3-s2-p1-op1")
    assert r.call.startswith("nn.ConvTranspose(features=3, kernel_size=(3, 2), strides=(2, 2), padding=((1, 2), (0, 1))")
    assert "np.flip" in r.weight_conversion
    r = passed(flax_run, "torch-groups-bias")  # ConvTranspose has no groups: nn.Conv with input_dilation
    assert "nn.Conv(" in r.call and "input_dilation=(2, 2)" in r.call and "feature_group_count=2" in r.call


def test_flax_layouts(flax_run):
    for case in ("keras-same-k3-s2", "jax-zeros-at-start", "jax-legacy-pairs", "torch-float64"):
        passed(flax_run, case)
    r = passed(flax_run, "jax-transpose-kernel-nchw")
    assert "transpose_kernel=True" in r.call and "x: NCHW -> NHWC" in r.call
    r = passed(flax_run, "jax-conv-nchw-groups")
    assert "feature_group_count=2" in r.call and "output: NHWC -> NCHW" in r.call


def test_flax_has_no_consistent_padding(flax_run):
    r = flax_run["jax-consistent"]
    assert r.status == "not_expressible" and "use_consistent_padding" in r.note
