"""The pytest plugin (convtx/pytest_plugin.py), run as a user runs it: `pytest --convtx PATHS` in a
project of their own (a subprocess in a temporary folder), on the NumPy reference and a function of
the user's own (support.mine_system, in a worker); and the `@pytest.mark.convtx` + `convtx_case` form."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from support import TESTS

CASES = """
- id: good-k3-s2
  framework: torch
  args: {stride: 2, padding: 1, output_padding: 1}
  input: {shape: [1, 1, 3, 3], fill: 1}
  weight: {shape: [1, 1, 3, 3], fill: 1}
  expected: [[[[1, 2, 1, 2, 1, 1], [2, 4, 2, 4, 2, 2], [1, 2, 1, 2, 1, 1],
               [2, 4, 2, 4, 2, 2], [1, 2, 1, 2, 1, 1], [1, 2, 1, 2, 1, 1]]]]
  tags: [stride]
- id: wrong-k2-s2
  framework: torch
  args: {stride: 2}
  input: {shape: [1, 1, 2, 2], fill: 1}
  weight: {shape: [1, 1, 2, 2], fill: 1}
  expected: [[[[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 2]]]]
- id: keras-same
  framework: keras
  args: {strides: 2, padding: same}
  input: {shape: [1, 3, 3, 1], fill: 1}
  weight: {shape: [3, 3, 1, 1], fill: 1}
  expected: {shape: [1, 6, 6, 1]}
- id: bad-one
  framework: torch
  args: {strides: 2}
  input: {shape: [1, 1, 2, 2], fill: 1}
  weight: {shape: [1, 1, 2, 2], fill: 1}
  expected: {shape: [1, 1, 4, 4]}
"""
BUGS = """
- {reason: a pretend bug, link: 'https://example.org/bug/7', system: numpy, cases: [wrong-*]}
- {reason: a fixed bug, link: 'https://example.org/bug/8', system: numpy, cases: [good-k3-s2]}
"""
CONFTEST = """
from convtx import adapters
adapters.register("mine", "support.mine_system:MineSystem")
"""
TEST_FILE = """
import pytest
from support.mine_system import MineSystem

def test_plain():
    assert True

@pytest.mark.convtx("cases/mine.yaml", systems=["numpy", MineSystem])
def test_marked(convtx_case):
    result = convtx_case.check()
    assert result.status == "pass" and result.framework == convtx_case.system
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    (root / "cases").mkdir()
    (root / "cases" / "mine.yaml").write_text(CASES, encoding="utf-8")
    (root / "bugs.yaml").write_text(BUGS, encoding="utf-8")
    (root / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (root / "test_plain.py").write_text(TEST_FILE, encoding="utf-8")
    return root


def pytest_in(root, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def outcomes(junit) -> dict[str, tuple[str, str]]:
    """testcase name -> (outcome, message) from a JUnit XML file."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        child = next(iter(case), None)
        if child is None:
            out[case.get("name")] = ("passed", "")
        else:
            out[case.get("name")] = (child.tag, (child.get("message") or "") + (child.text or ""))
    return out


def test_cases_become_items_with_convtx_verdicts(project):
    junit = project / "j.xml"
    proc = pytest_in(project, "--convtx", "cases", "test_plain.py", "--convtx-frameworks", "numpy,mine",
                     "--convtx-known-bugs", "bugs.yaml", f"--junitxml={junit}")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "convtx 0.1.0: systems numpy, mine; known-bug files: bugs.yaml" in proc.stdout
    got = outcomes(junit)
    items = {name: value for name, value in got.items() if not name.startswith("test_")}
    assert set(items) == {f"{c}[{s}]" for c in ("good-k3-s2", "wrong-k2-s2", "keras-same") for s in ("numpy", "mine")} \
        | {"bad-one[invalid]"}
    assert got["good-k3-s2[numpy]"][0] == got["good-k3-s2[mine]"][0] == got["keras-same[numpy]"][0] == "passed"
    outcome, message = got["wrong-k2-s2[numpy]"]
    assert outcome == "skipped" and "https://example.org/bug/7" in message  # xfail
    outcome, message = got["wrong-k2-s2[mine]"]
    assert outcome == "failure"
    assert "wrong-k2-s2 on mine: mismatch" in message and "call:       my_conv_transpose(x, w, stride=2)" in message
    assert "diagnosis:" in message and "case:       cases/mine.yaml:" in message
    outcome, message = got["keras-same[mine]"]
    assert outcome == "skipped" and message.startswith("not_expressible: ")
    outcome, message = got["bad-one[invalid]"]
    assert outcome == "failure" and "cases/mine.yaml:24:" in message and "case 'bad-one': args.strides" in message
    # the marked test: one run per case x system, the same verdicts
    assert got["test_marked[good-k3-s2@mine]"][0] == "passed"
    assert got["test_marked[keras-same@mine]"][0] == "skipped"
    outcome, message = got["test_marked[wrong-k2-s2@mine]"]
    assert outcome == "failure" and "wrong-k2-s2 on mine: mismatch" in message
    assert got["test_marked[wrong-k2-s2@numpy]"][0] == "skipped"  # xfail: --convtx-known-bugs applies too
    assert got["test_marked[bad-one@numpy]"][0] == "failure"
    assert "4 failed, 7 passed, 2 skipped, 2 xfailed" in proc.stdout
    assert "KnownBugPassed: good-k3-s2 on numpy: XPASS" in proc.stdout  # a listed bug that passes is flagged


def test_selection_and_node_ids(project):
    proc = pytest_in(project, "--convtx", "cases", "--convtx-frameworks", "numpy,mine", "--collect-only", "-q",
                     "-k", "stride and numpy")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[0] == "cases/mine.yaml::good-k3-s2[numpy]"  # `-k` matches tags and systems
    proc = pytest_in(project, "--convtx", "cases/mine.yaml::wrong-k2-s2[numpy]", "-q", "-x")
    assert proc.returncode == 1 and "1 failed" in proc.stdout, proc.stdout


def test_without_the_option_no_case_is_collected(project):
    proc = pytest_in(project, "--collect-only", "-q", "test_plain.py", "cases")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ids = [line for line in proc.stdout.splitlines() if "::" in line]
    assert ids == ["test_plain.py::test_plain", "test_plain.py::test_marked[good-k3-s2@numpy]",
                   "test_plain.py::test_marked[good-k3-s2@mine]", "test_plain.py::test_marked[wrong-k2-s2@numpy]",
                   "test_plain.py::test_marked[wrong-k2-s2@mine]", "test_plain.py::test_marked[keras-same@numpy]",
                   "test_plain.py::test_marked[keras-same@mine]", "test_plain.py::test_marked[bad-one@numpy]"]


def test_bad_options_are_usage_errors(project):
    proc = pytest_in(project, "--convtx", "cases", "--convtx-frameworks", "numpy,nope")
    assert proc.returncode == 4 and "convtx: --frameworks: unknown" in proc.stderr and "nope" in proc.stderr
    proc = pytest_in(project, "--convtx", "cases", "--convtx-known-bugs", "missing.yaml")
    assert proc.returncode == 4 and "missing.yaml:1:1: no such known-bug file" in proc.stderr, proc.stderr
