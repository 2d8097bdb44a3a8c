"""Faults while running: a framework that raises, hangs or kills its worker costs only its own cells."""

from __future__ import annotations

import pytest

from convtx import adapters
from convtx.harness.caseformat.casefile import load_suite
from convtx.harness.engine.runner import RunOptions, run_suite

CASES = """
- {id: a-ok, framework: torch, input: [[[1, 2]]], weight: [[[1, 1]]], expected: [[[1, 3, 2]]]}
- {id: b-raises, framework: torch, input: [[[101, 2]]], weight: [[[1, 1]]], expected: [[[101, 103, 2]]]}
- {id: c-hangs, framework: torch, input: [[[102, 2]]], weight: [[[1, 1]]], expected: [[[102, 104, 2]]]}
- {id: d-exits, framework: torch, input: [[[103, 2]]], weight: [[[1, 1]]], expected: [[[103, 105, 2]]]}
- {id: e-segfaults, framework: torch, input: [[[104, 2]]], weight: [[[1, 1]]], expected: [[[104, 106, 2]]]}
- {id: f-ok-after, framework: torch, input: [[[3, 4]]], weight: [[[1, 1]]], expected: [[[3, 7, 4]]]}
"""


@pytest.fixture
def faulty():
    adapters.register("faulty", "support.fault_system:FaultySystem")


def test_faults_become_verdicts_and_the_run_goes_on(faulty, write_case):
    suite = load_suite([write_case(CASES)])
    run = run_suite(suite, ["numpy", "faulty"], opts=RunOptions(timeout=5))
    got = {r.case: r for r in run.results if r.framework == "faulty"}
    assert got["a-ok"].status == "pass"
    assert got["b-raises"].status == "error" and "RuntimeError: injected failure" in got["b-raises"].note
    assert got["c-hangs"].status == "timeout" and "within 5 s" in got["c-hangs"].note
    assert got["d-exits"].status == "error" and "exit code 3" in got["d-exits"].note
    assert got["e-segfaults"].status == "error" and "died" in got["e-segfaults"].note
    assert got["f-ok-after"].status == "pass"  # the worker was restarted
    assert all(r.status == "pass" for r in run.results if r.framework == "numpy")
    assert run.frameworks["faulty"] == "0.0-test" and not run.partial


def test_missing_framework_is_skipped_with_the_install_hint(monkeypatch, write_case):
    from convtx.adapters.torch_adapter import TorchSystem
    monkeypatch.setattr(TorchSystem, "requires", ("torch", "a_module_that_is_not_installed"))
    suite = load_suite([write_case(CASES.splitlines()[1] + "\n")])
    run = run_suite(suite, ["torch"])
    (result,) = run.results
    assert result.status == "skipped" and "pip install '.[torch]'" in result.note
