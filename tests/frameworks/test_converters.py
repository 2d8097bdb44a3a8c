"""The paths a model takes, as systems: LiteRT (Keras / tf.function -> TFLite), torch -> ONNX (both
exporters) -> onnxruntime, OpenVINO (ONNX and torch frontends) and MLX, against real outputs.

One run: the repository's cases (`cases/`) plus the shared TRANSLATED cases of test_more_systems and a
few of this module's own, through the NumPy reference and every converter system at once (their workers
run side by side).  Every verdict must be pass, not_expressible, unsupported (the converter's or
runtime's own refusal) or xfail (a listed known bug) - never error, mismatch or timeout - and a few
verdicts are checked to the call text: which TFLite op a call became, which ONNX node an exporter wrote.
A system whose package is missing is skipped locally and fails in CI (`support.frameworks.require`).
"""

from __future__ import annotations

import os

import pytest

from convtx.adapters import load
from convtx.harness.caseformat.casefile import load_suite
from convtx.harness.engine import knownbugs
from convtx.harness.engine.results import FAILING
from convtx.harness.engine.runner import RunOptions, run_suite
from support import ROOT
from support.frameworks import require

from test_more_systems import TRANSLATED, W3, rnd, write_suite  # noqa: E402  (tests/frameworks is on the path)

SYSTEMS = ["litert", "litert-tf", "torch-onnx", "torch-onnx-legacy", "openvino", "openvino-torch", "mlx"]
OK = ("pass", "not_expressible", "unsupported", "xfail")

OWN = [
    {"id": "cv-keras-same-3d", "framework": "keras", "args": {"strides": [2, 1, 2], "padding": "same"},
     "input": rnd((1, 2, 3, 2, 2), 60), "weight": rnd((3, 2, 2, 3, 2), 61)},
    {"id": "cv-keras-valid-op-bias", "framework": "keras", "args": {"strides": [2, 3], "output_padding": [1, 2]},
     "input": rnd((2, 3, 2, 2), 62), "weight": rnd((2, 3, 3, 2), 63), "bias": rnd((3,), 64)},
    {"id": "cv-keras-conv-groups", "framework": "keras", "op": "conv", "args": {"padding": "same", "groups": 2},
     "input": rnd((1, 5, 4, 4), 65), "weight": rnd((3, 2, 2, 4), 66)},
    {"id": "cv-tf-same-os", "framework": "tf",
     "args": {"output_shape": [1, 5, 7, 2], "strides": [2, 3], "padding": "SAME"},
     "input": rnd((1, 3, 3, 3), 67), "weight": rnd((2, 3, 2, 3), 68)},
    {"id": "cv-torch-output-size", "framework": "torch", "args": {"stride": 2, "padding": 1, "output_size": [6, 5]},
     "input": rnd((1, 1, 3, 3), 69), "weight": rnd((1, 1, 3, 3), 70)},
    {"id": "cv-torch-conv-same-even", "framework": "torch", "op": "conv",
     "args": {"padding": "same", "dilation": [1, 2]},
     "input": rnd((1, 2, 5, 6), 71), "weight": rnd((3, 2, 4, 3), 72), "bias": rnd((3,), 73)},
    {"id": "cv-torch-conv-same-odd", "framework": "torch", "op": "conv", "args": {"padding": "same"},
     "input": rnd((1, 2, 5, 6), 80), "weight": rnd((3, 2, 4, 3), 81)},
    {"id": "cv-torch-3d-groups", "framework": "torch",
     "args": {"stride": [2, 1, 3], "padding": [1, 0, 1], "output_padding": [1, 0, 2], "groups": 2},
     "input": rnd((1, 2, 2, 3, 2), 74), "weight": rnd((2, 1, 3, 2, 3), 75)},
    {"id": "cv-torch-float64", "framework": "torch", "dtype": "float64", "args": {"stride": 2, "padding": 1},
     "input": rnd((1, 2, 3, 3), 76), "weight": rnd((2, 2, 3, 3), 77)},
    {"id": "cv-torch-big-padding", "framework": "torch", "args": {"stride": 3, "padding": 2},
     "input": {"shape": [1, 1, 2, 2], "arange": 0}, "weight": W3},
    {"id": "cv-onnx-autopad-small-kernel", "framework": "onnx", "args": {"strides": [3], "auto_pad": "SAME_UPPER"},
     "input": rnd((1, 1, 2), 78), "weight": rnd((1, 1, 2), 79)},
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    systems = [s for s in SYSTEMS if load(s).available()]
    for system in SYSTEMS:
        if system not in systems and os.environ.get("CI"):
            require(system)  # fails in CI: every converter is part of '.[all]'
    if not systems:
        pytest.skip("no converter system installed")
    extra = write_suite(tmp_path_factory.mktemp("converters"), list(TRANSLATED) + OWN)
    suite = load_suite([os.path.join(ROOT, "cases"), *extra.files])
    assert not suite.errors, suite.errors
    result = run_suite(suite, ["numpy", *systems], opts=RunOptions(known_bugs=knownbugs.load(systems)))
    return {(r.case, r.framework): r for r in result.results}, suite, result


def cell(run, case: str, system: str):
    require(system)
    verdicts, _, _ = run
    return verdicts[(case, system)]


@pytest.mark.parametrize("system", SYSTEMS)
def test_every_verdict_is_a_pass_a_limit_a_refusal_or_a_known_bug(run, system):
    require(system)
    verdicts, suite, result = run
    assert result.frameworks[system], result.environment.get(system)
    mine = [r for (case, fw), r in verdicts.items() if fw == system]
    assert len(mine) == len(suite.entries)
    bad = [f"{r.case}: {r.status}: {r.note}" for r in mine if r.status in FAILING or r.status not in OK]
    assert not bad, "\n".join(bad)
    passed = [r for r in mine if r.status == "pass"]
    assert len(passed) >= len(mine) // 2, f"only {len(passed)} of {len(mine)} pass on {system}"


def test_litert_records_the_tflite_op(run):
    r = cell(run, "keras-same-k3-s2", "litert")
    assert r.status == "pass" and "TFLite TRANSPOSE_CONV" in r.call and "from_keras_model" in r.call, r.call
    r = cell(run, "cv-keras-same-3d", "litert")
    assert r.status == "pass" and "TFLite CONV_3D_TRANSPOSE" in r.call, (r.status, r.note)
    assert cell(run, "cv-keras-valid-op-bias", "litert").status == "pass"
    r = cell(run, "cv-keras-conv-groups", "litert")
    assert r.status in ("pass", "unsupported") and "TFLite CONV_2D" in r.call, (r.status, r.note)


def test_litert_converter_refusals_and_limits(run):
    # a dilated transposed convolution has no TFLite builtin: the converter's own words
    r = cell(run, "onnx-convtranspose-dilations", "litert")
    assert r.status == "unsupported" and "neither a custom op nor a flex op" in r.note, r.note
    # Keras's 'same' with an even kernel and output_padding=0: TRANSPOSE_CONV refuses the size at prepare
    r = cell(run, "doc001-2x2-s1-p1", "litert")
    assert r.status == "xfail" and "SizeOfDimension" in r.note, r.note


def test_litert_tf_function(run):
    r = cell(run, "cv-tf-same-os", "litert-tf")
    assert r.status == "pass" and "from_concrete_functions" in r.call and "TRANSPOSE_CONV" in r.call, r.note
    # explicit padding (torch's padding=1, output_padding=1 said in tf.nn) has no TFLite lowering
    r = cell(run, "torch-k3-s2-p1-op1", "litert-tf")
    assert r.status == "unsupported" and "flex op" in r.note, r.note


@pytest.mark.parametrize("system", ["torch-onnx", "torch-onnx-legacy"])
def test_torch_onnx_records_the_exported_node(run, system):
    r = cell(run, "torch-k3-s2-p1-op1", system)
    assert r.status == "pass", r.note
    assert "ConvTranspose(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])" in r.call, r.call
    r = cell(run, "cv-torch-output-size", system)  # output_size= becomes output_padding in the graph
    assert r.status == "pass" and "output_padding=[1, 0]" in r.call, (r.note, r.call)
    r = cell(run, "cv-torch-3d-groups", system)
    assert r.status == "pass" and "group=2" in r.call, r.note
    # onnxruntime has no float64 ConvTranspose: its own refusal
    assert cell(run, "cv-torch-float64", system).status == "unsupported"


def test_the_exporters_spell_same_differently(run):
    new = cell(run, "cv-torch-conv-same-odd", "torch-onnx")
    legacy = cell(run, "cv-torch-conv-same-odd", "torch-onnx-legacy")
    assert new.status == legacy.status == "pass", (new.note, legacy.note)
    assert "Conv(pads=[1, 1, 2, 1])" in new.call, new.call
    assert "Conv(auto_pad='SAME_UPPER')" in legacy.call, legacy.call
    # with a dilation, the legacy exporter's auto_pad is a model onnxruntime cannot run (its own words)
    new = cell(run, "cv-torch-conv-same-even", "torch-onnx")
    legacy = cell(run, "cv-torch-conv-same-even", "torch-onnx-legacy")
    assert new.status == "pass" and "Conv(dilations=[1, 2], pads=[1, 2, 2, 2])" in new.call, (new.note, new.call)
    assert legacy.status == "unsupported" and "Dilation not supported for AutoPadType" in legacy.note, legacy.note


def test_openvino(run):
    assert cell(run, "torch-groups-bias", "openvino").status == "pass"
    assert cell(run, "torch-groups-bias", "openvino-torch").status == "pass"
    assert "ov.convert_model(nn.ConvTranspose2d" in cell(run, "torch-groups-bias", "openvino-torch").call
    # the CPU plugin computes float64 in float32: a limit of the plugin, said before any call
    r = cell(run, "cv-torch-float64", "openvino-torch")
    assert r.status == "not_expressible" and "float64" in r.note, r.note
    # auto_pad SAME with a kernel smaller than the stride: (i-1)*s + K instead of i*s
    r = cell(run, "cv-onnx-autopad-small-kernel", "openvino")
    assert r.status == "xfail" and "openvino/pull/32608" in r.note, r.note


def test_mlx(run):
    r = cell(run, "torch-groups-bias", "mlx")
    assert r.status == "pass" and "groups=2" in r.call and "mx.conv_transpose2d" in r.call, r.call
    r = cell(run, "cv-torch-conv-same-even", "mlx")
    assert r.status == "pass" and "padding=([1, 2], [2, 2])" in r.call, r.call
    r = cell(run, "cv-torch-big-padding", "mlx")  # k3, stride 3, padding 2 = d*(k-1): MLX's padding_lo is 0
    assert r.status == "pass", r.note
    r = cell(run, "doc003-d2l-s3-p2", "mlx")  # k2, stride 3, padding 2 > d*(k-1) = 1
    assert r.status == "xfail" and "undilated input" in r.note, r.note
    assert cell(run, "cv-torch-float64", "mlx").status == "unsupported"
