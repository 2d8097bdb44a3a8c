"""Versions side by side for real: `convtx env create` builds a second venv with an older onnxruntime
(once per test session), and one run shows `onnxruntime` and `onnxruntime@1.19` as two columns, each
with its own version and interpreter, and the same verdicts; a worker there fails as a spawned one does.

Needs PyPI (pip downloads onnxruntime 1.19, onnx, numpy, ... into the session's temporary folder)."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time

import pytest

from support import ROOT, TESTS

OLD = "onnxruntime@1.19"  # wheels for CPython 3.10 to 3.12; this venv's onnxruntime is newer


@pytest.fixture(scope="session")
def second_venv(tmp_path_factory):
    """(its python, the config file `convtx env create` recorded it in)."""
    folder = tmp_path_factory.mktemp("second-venv")
    config = str(folder / "envs.toml")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "convtx.harness", "env", "create", OLD, "--path", str(folder / "venv")],
                          capture_output=True, text=True, env={**os.environ, "CONVTX_ENVS": config}, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(f"\n{proc.stdout.strip()}\n(env create: {time.perf_counter() - t0:.1f} s)")
    assert "version 1.19." in proc.stdout
    python = os.path.join(str(folder / "venv"), "bin", "python")
    return python, config


def _columns(path: str) -> tuple[dict, dict, dict[str, dict[str, str]]]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    verdicts: dict[str, dict[str, str]] = {}
    for r in data["results"]:
        verdicts.setdefault(r["framework"], {})[r["case"]] = r["status"]
    return data["frameworks"], data["environment"], verdicts


def test_two_versions_are_two_columns(second_venv, cli, root, tmp_path, monkeypatch):
    python, config = second_venv
    monkeypatch.setenv("CONVTX_ENVS", str(tmp_path / "none.toml"))  # --python alone says where it runs
    out = str(tmp_path / "run.json")
    code, stdout, err = cli("run", f"{root}/cases/onnx", "--frameworks", f"onnxruntime,{OLD}",
                            "--python", f"{OLD}={python}", "--json", out, "--no-cache")
    assert code in (0, 1), err
    versions, environment, verdicts = _columns(out)
    print(f"\ncolumns: {versions}")
    assert set(versions) == {"onnxruntime", OLD}
    assert versions[OLD].startswith("1.19.") and versions["onnxruntime"] != versions[OLD]
    assert environment[OLD]["python"] == python and "python" not in environment["onnxruntime"]
    assert len(verdicts[OLD]) == len(verdicts["onnxruntime"]) == 11
    differ = {c: (s, verdicts[OLD][c]) for c, s in verdicts["onnxruntime"].items() if s != verdicts[OLD][c]}
    assert not differ, f"the ONNX spec's examples: the versions disagree on {differ}"
    assert f"{OLD}  {versions[OLD]}" in stdout

    monkeypatch.setenv("CONVTX_ENVS", config)  # the same column from what `env create` recorded
    code, stdout, err = cli("run", f"{root}/cases/onnx", "-k", "dilations", "--frameworks", OLD, "--json", out,
                            "--no-cache")
    assert code in (0, 1) and _columns(out)[0] == {OLD: versions[OLD]}, err


def test_a_worker_there_fails_as_a_spawned_one_does(second_venv, write_case, monkeypatch):
    """The fault system of test_workers (tests/support on that venv's path): the same verdicts."""
    from convtx import adapters
    from convtx.harness.caseformat.casefile import load_suite
    from convtx.harness.engine import launch
    from convtx.harness.engine.runner import RunOptions, run_suite
    from test_workers import CASES

    python, _ = second_venv
    (site,) = glob.glob(os.path.join(os.path.dirname(os.path.dirname(python)), "lib", "python*", "site-packages"))
    with open(os.path.join(site, "convtx_tests.pth"), "w", encoding="utf-8") as fh:
        fh.write(TESTS + "\n")
    adapters.register("faulty", "support.fault_system:FaultySystem")
    launch.configure({"faulty@there": python})
    try:
        run = run_suite(load_suite([write_case(CASES)]), ["faulty@there"], opts=RunOptions(timeout=5))
    finally:
        launch.configure({})
        adapters.unregister("faulty")
    got = {r.case: r for r in run.results}
    assert got["a-ok"].status == "pass"
    assert got["b-raises"].status == "error" and "RuntimeError: injected failure" in got["b-raises"].note
    assert got["c-hangs"].status == "timeout" and "within 5 s" in got["c-hangs"].note
    assert got["d-exits"].status == "error" and "exit code 3" in got["d-exits"].note
    assert got["e-segfaults"].status == "error" and "died" in got["e-segfaults"].note
    assert got["f-ok-after"].status == "pass"  # the worker was restarted, in that interpreter
    assert run.environment["faulty@there"]["python"] == python
    assert run.environment["faulty@there"]["pid"] != os.getpid()


def test_a_worker_whose_convtx_differs_refuses_to_serve(second_venv, monkeypatch):
    from convtx.harness.engine import keys, launch
    from convtx.harness.engine.workers import Worker
    python, _ = second_venv
    monkeypatch.setattr(keys, "code_digest", lambda: "another convtx")
    launch.configure({OLD: python})
    worker = Worker(OLD)
    try:
        hello = worker.start()
    finally:
        worker.stop()
        launch.configure({})
    assert not hello.available and f"the convtx installed for {python} is not this convtx" in (hello.error or "")
    assert f"{python} -m pip install -e {ROOT}" in (hello.error or "")
