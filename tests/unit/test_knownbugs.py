"""Known bugs recognised by what they are: conditions, error patterns, scopes, user files, refusals."""

from __future__ import annotations

import pytest

from convtx.harness import semantics
from convtx.harness.engine import knownbugs
from convtx.harness.core.errors import CaseError


def facts(system="onnx-ref", framework="torch", args=None, x=(1, 4, 3, 3), w=(4, 2, 3, 3), bias=False):
    args = args if args is not None else {"stride": 2, "groups": 2}
    reading = semantics.read(framework, "conv_transpose", args, x, w, bias, (w[1] * 2,) if bias else None)
    return knownbugs.CellFacts("some-new-case", system, reading.geometry, dict(reading.args))


def test_shipped_files_load_and_their_conditions_compile():
    from convtx.adapters import systems
    bugs = knownbugs.load(list(systems()))
    assert {b.system for b in bugs} >= {"onnx-ref", "onnxruntime", "keras", "jax", "tf", "paddle"}
    for b in bugs:
        assert b.link.startswith("https://github.com/"), b
        assert b.when or b.error or b.cases


def test_a_condition_on_the_problem_matches_a_case_never_listed():
    group_bug = [b for b in knownbugs.load(["onnx-ref"]) if "8446" in b.link][0]
    assert group_bug.explains(facts(), "ValueError: could not broadcast input array from shape (2,2,2)")
    assert not group_bug.explains(facts(), "ValueError: something else entirely")
    one_channel = facts(args={"stride": 2}, x=(1, 1, 3, 3), w=(1, 1, 3, 3))
    assert not group_bug.explains(one_channel, "could not broadcast")


def test_judge_turns_failures_into_xfail_and_flags_xpass():
    bug = knownbugs.KnownBug("onnx-ref", "groups", "https://example.org/1", "f.yaml:1:3", when="groups > 1")
    v = knownbugs.judge("error", "boom", facts(), [bug], "1.23.2", {})
    assert v.status == "xfail" and "https://example.org/1" in v.note and v.entry is bug
    v = knownbugs.judge("pass", "", facts(), [bug], "1.23.2", {})
    assert v.status == "pass" and v.note.startswith("XPASS")
    v = knownbugs.judge("not_expressible", "why", facts(), [bug], "1.23.2", {})
    assert v.status == "not_expressible" and v.entry is None


def test_scope_by_version_and_environment():
    bug = knownbugs.KnownBug("tf", "r", "https://example.org", "f:1:1", when="True",
                             scope={"version": ">=2.16,<2.22", "onednn": True})
    assert bug.in_scope("2.21.0", {"onednn": True})
    assert not bug.in_scope("2.21.0", {"onednn": False})
    assert not bug.in_scope("2.22.1", {"onednn": True})
    assert not bug.in_scope(None, {"onednn": True})
    v = knownbugs.judge("error", "x", facts(system="tf"), [bug], "2.21.0", {"onednn": False})
    assert v.status == "error"  # outside its scope an entry is silent


def test_stale_entries_are_reported_only_in_scope():
    hit = knownbugs.KnownBug("tf", "a", "l", "f:1:1", when="True")
    unused = knownbugs.KnownBug("tf", "b", "l", "f:5:1", when="False")
    out_of_scope = knownbugs.KnownBug("tf", "c", "l", "f:9:1", when="False", scope={"onednn": True})
    warnings = knownbugs.stale([hit, unused, out_of_scope], {"f:1:1"}, {"tf": "2.21.0"}, {"tf": {"onednn": False}})
    assert len(warnings) == 1 and warnings[0].startswith("f:5:1")


@pytest.mark.parametrize("expression", ["__import__('os')", "x.__class__", "open('f')", "lambda: 1", "(y := 1)"])
def test_conditions_allow_no_code(expression):
    with pytest.raises(ValueError):
        knownbugs.check_expression(expression)


def test_a_condition_on_a_missing_fact_does_not_match():
    bug = knownbugs.KnownBug("onnx-ref", "r", "l", "f:1:1", when="args['no_such_argument'] > 1")
    assert not bug.describes(facts())


@pytest.mark.parametrize("text, where, fragment", [
    ("- reason: r\n  link: l\n", "1:3", "needs at least one of when, error, cases"),
    ("- reason: r\n  link: l\n  when: groups >\n", "3:9", "when: not a valid expression"),
    ("- reason: r\n  link: l\n  error: '('\n", "3:10", "error: not a regular expression"),
    ("- reason: r\n  link: l\n  cases: [a]\n  scope: {version: 'banana'}\n", "4:20", "not a version specifier"),
    ("- reason: r\n  link: l\n  cases: [a]\n  colour: red\n", "4:3", "unknown key 'colour'"),
    ("- {link: l, cases: [a]}\n", "1:3", "reason: required"),
])
def test_a_bad_known_bug_file_gives_a_positioned_error(tmp_path, text, where, fragment):
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CaseError) as err:
        knownbugs.load_file(str(path), default_system="tf")
    assert str(err.value).startswith(f"{path}:{where}:") and fragment in str(err.value), str(err.value)


def test_a_user_file_needs_the_system_and_is_scoped_to_the_run(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("- {reason: r, link: l, cases: [a], system: torch}\n- {reason: s, link: l, cases: [b], "
                    "system: jax}\n", encoding="utf-8")
    bugs = knownbugs.load(["numpy", "torch"], [str(path)])
    assert [b.system for b in bugs] == ["torch"]
    path.write_text("- {reason: r, link: l, cases: [a]}\n", encoding="utf-8")
    with pytest.raises(CaseError, match="system: required in a user's file"):
        knownbugs.load(["torch"], [str(path)])


def test_cli_refuses_a_bad_known_bug_file_with_one_line(cli, write_case, tmp_path):
    bad = tmp_path / "bugs.yaml"
    bad.write_text("- reason: r\n  link: l\n  system: torch\n  when: import os\n", encoding="utf-8")
    code, out, err = cli("run", write_case(ONE_CASE), "--frameworks", "numpy", "--known-bugs", str(bad))
    assert code == 2 and err.count("\n") == 1 and f"{bad}:4:9: when:" in err, err


ONE_CASE = """
id: one
framework: torch
args: {stride: 2}
input: {shape: [1, 1, 2, 2], fill: 1}
weight: {shape: [1, 1, 2, 2], fill: 1}
expected: {shape: [1, 1, 4, 4]}
"""
