"""Adding a framework = one dialect + one system + one registry line (tests/support/toy.py), and then
it takes part in run, translate and fuzz like a built-in one."""

from __future__ import annotations

import pytest

from convtx.harness import semantics
from convtx.harness.analysis import fuzzgen
from convtx.harness.caseformat.casefile import load_suite
from convtx.harness.engine.runner import RunOptions, run_suite
from support import toy

TORCH_CASE = """
id: torch-k3-s2-p1
framework: torch
args: {stride: 2, padding: 1}
input: {shape: [1, 2, 3, 3], random: 1}
weight: {shape: [2, 3, 3, 3], random: 2}
expected: {shape: [1, 3, 5, 5]}
"""

TOY_CASE = """
id: toy-own-words
framework: toy
args: {step: [1, 2], trim: [0, 1]}
input: [[[[1], [2]], [[3], [4]]]]
weight: [[[[1]], [[1]]]]
expected: [[[[1], [2]], [[3], [4]]]]
"""


@pytest.fixture(autouse=True)
def registered():
    toy.install()
    yield
    toy.uninstall()
    assert "toy" not in semantics.FRAMEWORKS


def test_run_translates_other_cases_and_runs_its_own(write_case):
    suite = load_suite([write_case(TORCH_CASE, "a.yaml"), write_case(TOY_CASE, "b.yaml")])
    assert not suite.errors, suite.errors
    run = run_suite(suite, ["numpy", "toy"], opts=RunOptions(timeout=60))
    got = {(r.case, r.framework): r for r in run.results}
    translated = got[("torch-k3-s2-p1", "toy")]
    assert translated.status == "pass", translated.note
    assert translated.call == "toy.conv_transpose(x, w, step=[2, 2], trim=[1, 1])"
    own = got[("toy-own-words", "toy")]
    assert own.status == "pass" and own.weight_conversion == "as written in the case", own
    assert got[("toy-own-words", "numpy")].status == "pass"
    assert run.frameworks["toy"] == "0.1-toy"


def test_a_crop_the_toy_cannot_say_is_not_expressible(write_case):
    case = TORCH_CASE.replace("padding: 1}", "padding: 1, output_padding: 1}").replace("[1, 3, 5, 5]", "[1, 3, 6, 6]")
    run = run_suite(load_suite([write_case(case)]), ["toy"])
    (result,) = run.results
    assert result.status == "not_expressible" and "same amount at both ends" in result.note


def test_translate_lists_the_toy(cli):
    code, out, _ = cli("translate", "--from", "torch", "--kernel", "3", "--stride", "2", "--padding", "1",
                       "--input-size", "3")
    assert code == 0
    assert "toy" in out and "toy.conv_transpose(x, w, step=[2, 2], trim=[1, 1])" in out


def test_fuzz_draws_and_runs_the_toy():
    assert "toy" in fuzzgen.drawn_dialects() and "toy" in semantics.FRAMEWORKS
    generated = fuzzgen.generate(60, seed=3)
    assert any(e.case.framework == "toy" for _, e in generated)
    from convtx.harness.analysis.fuzz import fuzz
    _, run, _ = fuzz(30, 3, ["toy"], opts=RunOptions(timeout=60))
    statuses = {r.status for r in run.results}
    assert "pass" in statuses and not run.failing(), [r.note for r in run.failing()]
