"""Known bugs recognised by what they are, on the real frameworks: never-seen cases that hit them are xfail."""

from __future__ import annotations

import pytest

from convtx.harness.engine import knownbugs
from support.frameworks import require

NEW_CASES = """
- id: my-groups-two-per-group
  framework: torch
  args: {stride: 2, padding: 1, groups: 2}
  input: {shape: [1, 2, 3, 3], random: 5}
  weight: {shape: [2, 2, 3, 3], random: 6}
  expected: {shape: [1, 4, 5, 5]}
- id: my-keras-same-even-kernel
  framework: keras
  args: {strides: 3, padding: same, output_padding: 0}
  input: {shape: [1, 2, 3, 1], random: 7}
  weight: {shape: [4, 2, 1, 1], random: 8}
  expected: {shape: [1, 3, 6, 1]}
"""


@pytest.mark.parametrize("onednn", ["1", "0"])
def test_never_seen_cases_that_hit_known_bugs_are_xfail(write_case, onednn):
    """The issue's acceptance: new cases, listed nowhere, are recognised by what they are."""
    from convtx.harness.caseformat.casefile import load_suite
    from convtx.harness.engine.runner import RunOptions, run_suite
    for fw in ("onnx-ref", "keras", "keras-jax"):
        require(fw)
    suite = load_suite([write_case(NEW_CASES)])
    assert not suite.errors, suite.errors
    systems = ["numpy", "onnx-ref", "keras", "keras-jax"]
    run = run_suite(suite, systems, opts=RunOptions(known_bugs=knownbugs.load(systems),
                                                     worker_env={"TF_ENABLE_ONEDNN_OPTS": onednn}))
    got = {(r.case, r.framework): r for r in run.results}
    onnx = got[("my-groups-two-per-group", "onnx-ref")]
    assert onnx.status == "xfail" and "https://github.com/onnx/onnx/pull/8446" in onnx.note, onnx.note
    keras = got[("my-keras-same-even-kernel", "keras")]
    assert keras.status == "xfail" or (keras.status == "pass" and keras.note.startswith("XPASS")), keras.note
    assert got[("my-keras-same-even-kernel", "keras-jax")].status == "pass"
