"""The Python API (convtx.api, reached lazily as convtx.*): load_cases, run, translate, reference, and
a function of one's own plugged in as a system; `import convtx` stays fast and framework-free."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import convtx
from convtx import adapters
from convtx.harness.core.errors import InvalidArguments, UsageError
from support import toy
from support.mine_system import MineSystem

GOOD = """
- id: api-k3-s2-p1-op1
  framework: torch
  args: {stride: 2, padding: 1, output_padding: 1}
  input: {shape: [1, 1, 3, 3], fill: 1}
  weight: {shape: [1, 1, 3, 3], fill: 1}
  expected: [[[[1, 2, 1, 2, 1, 1], [2, 4, 2, 4, 2, 2], [1, 2, 1, 2, 1, 1],
               [2, 4, 2, 4, 2, 2], [1, 2, 1, 2, 1, 1], [1, 2, 1, 2, 1, 1]]]]
- id: api-keras-same
  framework: keras
  args: {strides: 2, padding: same}
  input: {shape: [1, 3, 3, 2], random: 1}
  weight: {shape: [3, 3, 2, 2], random: 2}
  expected: {shape: [1, 6, 6, 2]}
- id: api-groups
  framework: torch
  args: {stride: 2, padding: 1, groups: 2}
  input: {shape: [1, 4, 3, 3], random: 3}
  weight: {shape: [4, 1, 3, 3], random: 4}
  bias: [0.5, -1]
  expected: {shape: [1, 2, 5, 5]}
"""
WRONG = """
id: api-wrong
framework: torch
args: {stride: 2}
input: {shape: [1, 1, 2, 2], fill: 1}
weight: {shape: [1, 1, 2, 2], fill: 1}
expected: [[[[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 2]]]]
"""
BAD = """
id: api-bad
framework: torch
args: {strides: 2}
input: {shape: [1, 1, 2, 2], fill: 1}
weight: {shape: [1, 1, 2, 2], fill: 1}
expected: {shape: [1, 1, 4, 4]}
"""


def by_cell(run):
    return {(r.case, r.framework): r for r in run.results}


def test_load_cases_gives_entries_and_one_line_errors(write_case, tmp_path):
    write_case(GOOD, "good.yaml")
    write_case(BAD, "bad.yaml")
    suite = convtx.load_cases(tmp_path)
    assert [e.case.id for e in suite.entries] == ["api-k3-s2-p1-op1", "api-keras-same", "api-groups"]
    (err,) = suite.errors
    assert str(err).startswith(f"{tmp_path}/bad.yaml:4:") and "args.strides" in str(err)


def test_run_on_the_reference_with_known_bugs_and_invalid_cases(write_case, tmp_path):
    paths = [write_case(GOOD, "good.yaml"), write_case(WRONG, "wrong.yaml"), write_case(BAD, "bad.yaml")]
    run = convtx.run(paths, ["numpy"])
    got = by_cell(run)
    assert got[("api-k3-s2-p1-op1", "numpy")].status == "pass"
    assert got[("api-wrong", "numpy")].status == "mismatch"
    assert got[("api-bad", "numpy")].status == "invalid" and "args.strides" in got[("api-bad", "numpy")].note
    assert [r.case for r in run.failing()] == ["api-wrong"]
    bugs = tmp_path / "bugs.yaml"
    bugs.write_text("- {reason: a pretend bug, link: 'https://example.org/b/1', system: numpy, cases: [api-wrong]}\n")
    seen = []
    run = convtx.run(convtx.load_cases(paths[1:2]), "numpy", known_bugs=[bugs], progress=seen.append)
    (result,) = run.results
    assert result.status == "xfail" and "https://example.org/b/1" in result.note and seen == [result]


def test_run_takes_registered_ids_and_system_classes(write_case):
    suite = convtx.load_cases([write_case(GOOD)])
    toy.install()
    try:
        run = convtx.run(suite, ["numpy", "toy", MineSystem], timeout=60)
    finally:
        toy.uninstall()
        adapters.unregister("mine")  # convtx.run registered the class for this process
    got = by_cell(run)
    assert got[("api-k3-s2-p1-op1", "mine")].status == "pass", got[("api-k3-s2-p1-op1", "mine")].note
    assert got[("api-k3-s2-p1-op1", "mine")].call == "my_conv_transpose(x, w, stride=2, padding=1, output_padding=1)"
    assert got[("api-groups", "mine")].status == "pass", got[("api-groups", "mine")].note
    assert got[("api-keras-same", "mine")].status == "not_expressible"  # torch cannot crop more at the end
    assert got[("api-k3-s2-p1-op1", "toy")].status == "not_expressible"
    assert got[("api-keras-same", "toy")].status == "not_expressible"
    assert run.frameworks["mine"] == "1.0-mine"
    with pytest.raises(UsageError, match="--frameworks: unknown.*nope"):
        convtx.run(suite, ["numpy", "nope"])
    with pytest.raises(TypeError, match="neither a system id"):
        convtx.run(suite, [object])  # type: ignore[list-item]


def test_translate_says_one_call_in_every_framework():
    t = convtx.translate("torch", 3, 3, stride=2, padding=1, output_padding=1)
    assert t.output_size == [6, 6] and t.full_size == [7, 7] and t.args == {"stride": 2, "padding": 1, "output_padding": 1}
    jax = t.row("jax")
    assert jax.call == "lax.conv_transpose(x, w, strides=(2, 2), padding=((1, 2), (1, 2)))"
    assert jax.weight_conversion == "np.flip(w, axis=(2, 3)).transpose(2, 3, 0, 1)"
    assert not t.row("keras").expressible and "5x5" in jax.naive_port
    one_d = convtx.translate("keras", [2], 4, strides=3, padding="same")
    assert one_d.output_size == [12] and one_d.row("torch").crops == [[0, -1]]  # a zero appended
    with pytest.raises(KeyError, match="no framework 'mxnet'"):
        t.row("mxnet")


def test_reference_computes_a_call_in_its_framework_terms():
    x, w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3))
    y = convtx.reference(x, w, stride=2, padding=1, output_padding=1)
    assert y.shape == (1, 1, 6, 6) and y[0, 0, 1].tolist() == [2, 4, 2, 4, 2, 2]
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 4, 3, 5)), rng.standard_normal((4, 3, 2, 3)), rng.standard_normal(3)
    torch_y = convtx.reference(x, w, b, stride=(2, 1), padding=(0, 1))
    keras_y = convtx.reference(x.transpose(0, 2, 3, 1), w.transpose(2, 3, 1, 0), b, framework="keras",
                               strides=(2, 1), padding="same")
    assert keras_y.shape == (2, 6, 5, 3) and torch_y.shape == (2, 3, 6, 5)
    np.testing.assert_allclose(keras_y, torch_y.transpose(0, 2, 3, 1), rtol=1e-12)
    half = convtx.reference(x, w, dtype="float16", stride=2)
    np.testing.assert_array_equal(half, convtx.reference(x.astype(np.float16), w.astype(np.float16), stride=2))
    with pytest.raises(InvalidArguments, match="output_padding"):
        convtx.reference(x, w, stride=1, output_padding=1)


def test_lazy_names():
    assert "run" in dir(convtx) and convtx.FunctionSystem.__name__ == "FunctionSystem"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        convtx.nope  # noqa: B018


PROBE = """
import sys, time
t = time.perf_counter()
import convtx, convtx.api
elapsed = time.perf_counter() - t
frameworks = {"torch", "tensorflow", "keras", "jax", "jaxlib", "onnx", "onnxruntime", "paddle", "tinygrad", "flax"}
print(elapsed, sorted(m for m in sys.modules if m.split(".")[0] in frameworks))
"""


def test_import_is_fast_and_framework_free():
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    elapsed, loaded = proc.stdout.split(" ", 1)
    assert loaded.strip() == "[]"
    assert float(elapsed) < 0.3, elapsed
