"""The terminal as pytest users expect it: -k, -x, --lf, --version, a closed pipe, one line per problem."""

from __future__ import annotations

import subprocess
import sys

import pytest

from convtx.harness.commands.selection import keyword_matcher
from convtx.harness.core.errors import UsageError

OK = "- {{id: {id}, framework: torch, tags: [{tag}], input: [[[1, 2]]], weight: [[[1, 1]]], expected: [[[1, 3, 2]]]}}\n"
WRONG = "- {{id: {id}, framework: torch, input: [[[1, 2]]], weight: [[[1, 1]]], expected: [[[1, 3, 3]]]}}\n"


@pytest.mark.parametrize("expression, words, expected", [
    ("doc000", ["doc000-k3", "ones"], True),
    ("doc000 and not op1", ["doc000-k3-s2-p1-op1"], False),
    ("(stride or dilation) and torch", ["a", "dilation", "torch"], True),
    ("not found", ["found-keras-1"], False),
    ("STRIDE", ["stride"], True),
])
def test_keyword_expressions(expression, words, expected):
    assert keyword_matcher(expression)(words) is expected


@pytest.mark.parametrize("expression", ["", "and", "a and", "(a", "a b"])
def test_malformed_keyword_expressions_are_usage_errors(expression):
    with pytest.raises(UsageError):
        keyword_matcher(expression)


def test_k_selects_and_unmatched_k_is_a_usage_error(cli, write_case):
    path = write_case(OK.format(id="one", tag="stride") + OK.format(id="two", tag="dilation"))
    code, out, _ = cli("run", path, "--frameworks", "numpy", "-k", "dilation")
    assert code == 0 and "1 case(s), 1 result(s): all conform" in out
    code, _, err = cli("run", path, "--frameworks", "numpy", "-k", "nothing-like-it")
    assert code == 2 and "selects none of the 2 case(s)" in err


def test_exitfirst_and_last_failed(cli, write_case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_case(WRONG.format(id="a-wrong") + OK.format(id="b-ok", tag="x") + WRONG.format(id="c-wrong"))
    code, out, _ = cli("run", path, "--frameworks", "numpy", "-x")
    assert code == 1 and "stopped after the first failure: -x" in out and "c-wrong" not in out
    code, out, _ = cli("run", path, "--frameworks", "numpy")
    assert code == 1 and "2 result(s) do not conform" in out
    code, out, _ = cli("run", path, "--frameworks", "numpy", "--lf")
    assert code == 1 and "2 case(s), 2 result(s)" in out and "b-ok" not in out


def test_a_failure_shared_by_systems_is_one_line():
    from convtx.harness.engine.results import Result, RunResults
    from convtx.reports.terminal import render_summary
    said = "{fw} agrees with the NumPy reference; the case's expected tensor does not: it is cropped (0, 1)"
    run = RunResults({"torch": "2", "jax": "0.1", "tf": "2"}, [
        Result("w", fw, "mismatch", note=f"1 mismatch [{fw}.call()]", diagnosis=said.format(fw=fw))
        for fw in ("torch", "jax", "tf")])
    lines = [ln for ln in render_summary(run).splitlines() if ln.startswith("MISMATCH")]
    assert len(lines) == 1 and "w [torch, jax, tf]: torch agrees" in lines[0]


def test_an_invalid_case_is_said_once_and_the_verdict_agrees_with_the_exit_code(cli, write_case):
    text = OK.format(id="fine", tag="x") + "- {id: broken, framework: torch, input: [[[1, 2]]], weight: [[[1, 1]]]}\n"
    code, out, err = cli("run", write_case(text), "--frameworks", "numpy,numpy")
    assert code == 2 and err.count("missing required key") == 1
    assert out.count("INVALID") == 1 and "1 invalid case(s) or file(s), not run" in out.splitlines()[-1]


def test_a_case_id_given_as_a_path_gets_a_hint(cli):
    code, _, err = cli("run", "my-k3-s2")
    assert code == 2 and "no such file or folder (to select cases by id, use -k my-k3-s2)" in err


def test_explain_suggests_close_ids(cli, root):
    code, _, err = cli("explain", "doc000-k3-s2-p1-op2", "--at", "0,0,0,0", "--cases", f"{root}/cases/seeds")
    assert code == 2 and "did you mean 'doc000-k3-s2-p1-op1'" in err


def test_version_and_a_closed_pipe(root):
    out = subprocess.run([sys.executable, "-m", "convtx.harness", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("convtx ")
    shell = f"{sys.executable} -m convtx.harness list --json {root}/cases | head -1"
    proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True)
    assert proc.stdout.strip() == "[" and "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_progress_without_a_tty_and_a_start_line(monkeypatch):
    import io

    from convtx.harness.engine.results import Result
    from convtx.reports import terminal
    monkeypatch.setattr(terminal, "QUIET_PROGRESS_SECONDS", 0.0)
    stream = io.StringIO()
    printer = terminal.Printer(stream=stream, total=2)
    printer.starting(["numpy", "torch"])
    printer.progress(Result("a", "numpy", "pass"))
    text = stream.getvalue()
    assert text.startswith("starting 2 system(s): numpy, torch") and "1/2 results" in text
