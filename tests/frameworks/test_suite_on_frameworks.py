"""Every case through every framework (real torch, Keras, TF, jax, onnxruntime, onnx-ref).

One run of the whole suite per oneDNN setting (TF_ENABLE_ONEDNN_OPTS=1 for every worker, and =0
for the TensorFlow-backed ones), then assertions on its verdicts that hold on any machine: what a
build/device refuses is `unsupported`, a known bug `xfail`, never `error` or `mismatch`; the
documents' examples pass wherever they can be expressed and run; the semantic traps are
translated correctly and reported as notes, not failures.
"""

from __future__ import annotations

import functools
import os

import pytest

from convtx.harness.caseformat.casefile import load_suite
from convtx.harness.engine.results import FAILING
from convtx.harness.engine.runner import RunOptions, run_suite
from convtx.harness.engine import knownbugs
from support.frameworks import require
from support import ROOT

FRAMEWORKS = ["numpy", "torch", "keras", "keras-jax", "keras-torch", "tf", "jax", "onnxruntime", "onnx-ref"]
TF_BACKED = ["numpy", "keras", "tf"]  # what the oneDNN setting changes
RAN = ("pass", "unsupported")  # computed, or refused by this build/device in its own words


@functools.lru_cache(maxsize=None)
def suite_run(setting: str):
    """The whole suite on every framework with oneDNN on; on the TensorFlow-backed ones with it off."""
    systems = FRAMEWORKS if setting == "onednn=1" else TF_BACKED
    for fw in systems:
        require(fw)
    suite = load_suite([os.path.join(ROOT, "cases")])
    assert not suite.errors
    opts = RunOptions(known_bugs=knownbugs.load(systems), worker_env={"TF_ENABLE_ONEDNN_OPTS": setting[-1]})
    result = run_suite(suite, systems, opts=opts)
    return {(r.case, r.framework): r for r in result.results}, suite, result


@pytest.fixture(scope="module", params=["onednn=1", "onednn=0"])
def run(request):
    """For what must hold under both settings (the TensorFlow-backed systems' run has oneDNN off)."""
    return suite_run(request.param)


@pytest.fixture(scope="module")
def full():
    """Every framework (oneDNN on), for the cross-framework assertions."""
    return suite_run("onednn=1")


def verdict(verdicts, case, fw):
    return verdicts[(case, fw)]


def test_every_case_has_a_verdict_for_every_framework(run):
    verdicts, suite, result = run
    for entry in suite.entries:
        for fw in result.frameworks:
            assert (entry.case.id, fw) in verdicts, f"no verdict for {entry.case.id} on {fw}"


def test_nothing_unexpected_fails(run):
    verdicts, _, result = run
    bad = [f"{r.case} on {r.framework}: {r.status}: {r.note}" for r in verdicts.values() if r.status in FAILING]
    assert not bad, "\n".join(bad)
    assert all(result.frameworks.values())


def test_the_environment_says_what_ran(run):
    _, _, result = run
    for fw in ("tf", "keras"):
        env = result.environment[fw]
        assert isinstance(env["onednn"], bool) and "cpu_avx512f" in env


def test_document_examples_pass_on_their_own_framework(run):
    verdicts, suite, result = run
    for entry in suite.entries:
        if "doc-example" in entry.case.tags and entry.case.framework in result.frameworks:
            r = verdicts[(entry.case.id, entry.case.framework)]
            assert r.status == "pass", f"{entry.case.id} on {entry.case.framework}: {r.status}: {r.note}"


def test_keras_same_is_a_one_pixel_shift_of_torch_p1_op1(full):
    verdicts, _, _ = full
    torch_on_keras = verdict(verdicts, "sem-torch-k3-s2-p1-op1", "keras")
    assert torch_on_keras.status == "not_expressible"
    assert "naive port keras(padding='same', output_padding=[1, 1]): same 6x6 size, shifted by [-1, -1]" in torch_on_keras.naive_port
    keras_on_torch = verdict(verdicts, "sem-keras-same-k3-s2", "torch")
    assert keras_on_torch.status == "not_expressible" and "crops more at the end" in keras_on_torch.note
    for fw in ("tf", "jax", "onnxruntime"):
        assert verdict(verdicts, "sem-keras-same-k3-s2", fw).status == "pass"
        assert verdict(verdicts, "sem-torch-k3-s2-p1-op1", fw).status == "pass"


def test_keras_output_padding_none_versus_zero(full):
    verdicts, _, _ = full
    none, zero = verdict(verdicts, "sem-keras-valid-k2-s4-op-none", "keras"), verdict(verdicts, "sem-keras-valid-k2-s4-op-0", "keras")
    assert none.status == zero.status == "pass"
    assert none.shape == [1, 8, 8, 1] and zero.shape == [1, 6, 6, 1]
    torch = verdict(verdicts, "sem-keras-valid-k2-s4-op-none", "torch")
    assert torch.status == "pass" and "output_padding=2" in torch.call


def test_jax_paddings_and_kernel_flip(full):
    verdicts, _, _ = full
    for case in ("sem-jax-valid-k2-s3", "sem-jax-explicit-legacy", "sem-jax-explicit-consistent",
                 "sem-jax-transpose-kernel"):
        for fw in ("numpy", "torch", "tf", "jax"):
            assert verdict(verdicts, case, fw).status == "pass", (case, fw, verdict(verdicts, case, fw).note)
    torch_on_jax = verdict(verdicts, "sem-torch-k3-s2-p1-op1", "jax")
    assert "np.flip(w, axis=(2, 3))" in torch_on_jax.weight_conversion
    assert "kernel spatially flipped" in torch_on_jax.naive_port


def test_tf_output_shape_picks_the_size(run):
    verdicts, _, _ = run
    assert verdict(verdicts, "sem-tf-output-shape-5", "tf").shape == [1, 5, 5, 1]
    assert verdict(verdicts, "sem-tf-output-shape-6", "tf").shape == [1, 6, 6, 1]
    assert verdict(verdicts, "sem-tf-output-shape-6", "keras").status == "pass"  # Keras 'same' k3 s2


def test_dilation_groups_1d_3d(full):
    verdicts, _, _ = full
    assert verdict(verdicts, "sem-torch-dilation-op", "torch").status == "pass"
    assert verdict(verdicts, "sem-torch-dilation-op", "keras").status == "not_expressible"
    assert verdict(verdicts, "sem-torch-dilation-op", "onnxruntime").status == "xfail"
    groups = {fw: verdict(verdicts, "sem-torch-groups-bias", fw) for fw in FRAMEWORKS}
    assert groups["torch"].status == groups["jax"].status == groups["onnxruntime"].status == "pass"
    assert "lax.conv_general_dilated" in groups["jax"].call and "feature_group_count=2" in groups["jax"].call
    assert groups["keras"].status == groups["tf"].status == "not_expressible"
    for case in ("sem-torch-1d-k2-s3", "sem-keras-same-1d-k2-s3", "sem-torch-3d-k2-s2"):
        for fw in ("numpy", "torch", "keras", "tf", "jax"):
            assert verdict(verdicts, case, fw).status in ("pass", "not_expressible", "unsupported"), (case, fw)
    assert verdict(verdicts, "sem-torch-3d-k2-s2", "jax").status == "pass"


def test_declared_invalid_case_is_refused_by_torch(full):
    verdicts, _, _ = full
    r = verdict(verdicts, "doc001-2x2-s2-p2-as-written", "torch")
    assert r.status == "pass" and r.note.startswith("refused as the case declares")
    assert verdict(verdicts, "doc001-2x2-s2-p2-as-written", "jax").status == "not_expressible"


def test_keras_backends_agree_where_tensorflow_fails(run, full):
    for case in ("doc001-2x2-s1-p1", "found-keras-1859908621", "found-keras-1757009722"):
        keras = verdict(run[0], case, "keras")
        # refused by TensorFlow wherever it refuses it (a known bug), or computed (then flagged XPASS)
        assert keras.status == "xfail" or (keras.status == "pass" and keras.note.startswith("XPASS")), keras.note
        assert verdict(full[0], case, "keras-jax").status == verdict(full[0], case, "keras-torch").status == "pass"


def test_build_refusals_are_unsupported_not_errors(run):
    verdicts, _, _ = run
    for case, fw in (("onnx-convtranspose-dilations", "tf"), ("onnx-convtranspose-dilations", "keras"),
                     ("sem-keras-channels-first", "keras")):
        r = verdict(verdicts, case, fw)
        assert r.status in RAN, (case, fw, r.note)
        if r.status == "unsupported":
            assert "its own refusal" in r.note and r.call


def test_imported_onnx_cases_pass_where_expressible(full):
    verdicts, suite, result = full
    onnx_cases = [e.case.id for e in suite.entries if "onnx-test" in e.case.tags]
    assert len(onnx_cases) >= 10
    for case in onnx_cases:
        r = verdict(verdicts, case, "onnxruntime")
        assert r.status == "pass", (case, r.note)
        for fw in result.frameworks:
            assert verdicts[(case, fw)].status in ("pass", "not_expressible", "unsupported", "xfail"), (case, fw)
