"""The result store across processes: concurrent runs do not corrupt it, and a second run of the seed
cases on numpy + torch computes nothing and starts no worker (counts from the runner, never timing)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from convtx.harness.caseformat.casefile import load_suite
from convtx.harness.engine import knownbugs
from convtx.harness.engine.runner import RunOptions, run_suite
from convtx.harness.engine.store import Store
from support import ROOT, TESTS
from support.frameworks import require

WRITER = """
import sys
from convtx.harness.engine.results import Result
from convtx.harness.engine.store import Store
store = Store.open(sys.argv[1])
name = sys.argv[2]
for batch in range(40):
    for i in range(25):
        store.add(f"{name}-{batch}-{i}", Result(f"{name}-{batch}-{i}", "numpy", "pass", note="x" * 500), [])
    store.flush()
    store.results([f"{name}-{b}-0" for b in range(batch + 1)])
store.close()
"""


def _spawn(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=TESTS)
    return subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_writing_at_once_leave_a_sound_store(tmp_path):
    path = str(tmp_path / "store.sqlite")
    procs = [_spawn("-c", WRITER, path, name) for name in ("p", "q")]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM results").fetchone()[0] == 2 * 40 * 25
    store = Store.open(path)
    assert store is not None and len(store.results([f"q-39-{i}" for i in range(25)])) == 25
    store.close()


def test_two_concurrent_runs_then_a_third_computes_nothing(tmp_path):
    env_store = str(tmp_path / "shared" / "store.sqlite")
    cases = os.path.join(ROOT, "cases")
    args = ["-m", "convtx.harness", "run", cases, "--frameworks", "numpy", "--quiet"]
    procs = []
    for i in range(2):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        proc = subprocess.Popen([sys.executable, *args], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=dict(os.environ, CONVTX_STORE=env_store))
        procs.append(proc)
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode in (0, 1), err
        assert "store:" in out and "warning" not in err
    third = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True,
                           env=dict(os.environ, CONVTX_STORE=env_store), timeout=600)
    assert ", 0 computed; systems started: none" in third.stdout, third.stdout + third.stderr
    assert sqlite3.connect(env_store).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_second_run_of_the_seeds_on_numpy_and_torch_starts_nothing(tmp_path):
    require("torch")
    suite = load_suite([os.path.join(ROOT, "cases", "seeds")])
    systems = ["numpy", "torch"]
    results = []
    for expected_computed in (None, 0):
        store = Store.open(str(tmp_path / "store.sqlite"))
        assert store is not None
        opts = RunOptions(store=store, known_bugs=knownbugs.load(systems))
        try:
            run = run_suite(suite, systems, opts=opts)
        finally:
            store.close()
        results.append(run)
        if expected_computed is None:
            assert opts.stats.computed == 2 * len(suite.entries) and opts.stats.workers == ["torch"]
        else:
            assert (opts.stats.computed, opts.stats.started, opts.stats.workers) == (0, [], [])
            assert opts.stats.from_store == 2 * len(suite.entries)
    first, second = results
    assert [r.to_json() for r in second.results] == [r.to_json() for r in first.results]
    assert second.frameworks == first.frameworks and second.environment == first.environment
