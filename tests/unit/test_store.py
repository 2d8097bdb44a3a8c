"""The result store: keys cover what a verdict depends on, stored results equal computed ones, a change
recomputes exactly the cells it concerns, and a file convtx cannot trust is ignored with a warning.

Everything here runs on the in-process NumPy reference (no worker); counts come from the runner's
`RunStats`, never from timing."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3

import pytest

from convtx.harness.caseformat.casefile import load_suite
from convtx.harness.engine import keys, knownbugs
from convtx.harness.engine.results import Result
from convtx.harness.engine.runner import RunOptions, run_suite
from convtx.harness.engine.store import Store

CASES = """
- {id: a, framework: torch, title: one, input: [[[1, 2]]], weight: [[[1, 1]]], expected: [[[1, 3, 2]]]}
- {id: b, framework: torch, args: {stride: 2}, input: {shape: [1, 1, 3], arange: 1}, weight: [[[1, 1]]],
   expected: [[[1, 1, 2, 2, 3, 3]]]}
- {id: c, framework: torch, input: [[[1, 2]]], weight: [[[1, 1]]], expected: [[[1, 3, 5]]]}
- {id: d, framework: keras, args: {strides: 2, padding: same}, input: {shape: [1, 3, 1], random: 7},
   weight: {shape: [3, 1, 1], random: 8}, expected: {shape: [1, 6, 1]}}
"""


def _suite(tmp_path, text: str = CASES):
    path = tmp_path / "cases.yaml"
    path.write_text(text, encoding="utf-8")
    return load_suite([str(path)])


def _run(suite, store, bugs=(), **kw):
    opts = RunOptions(store=store, known_bugs=list(bugs), **kw)
    run = run_suite(suite, ["numpy"], opts=opts)
    if store is not None:
        store.flush()
    return run, opts.stats


def _json(run) -> str:
    return json.dumps([r.to_json() for r in run.results], sort_keys=True)


@pytest.fixture
def store(tmp_path):
    opened = Store.open(str(tmp_path / "store.sqlite"))
    assert opened is not None
    yield opened
    opened.close()


def test_second_run_reads_everything_and_equals_the_computed_results(tmp_path, store):
    suite = _suite(tmp_path)
    first, stats1 = _run(suite, store)
    assert (stats1.computed, stats1.from_store, stats1.started) == (4, 0, ["numpy"])
    assert {r.status for r in first.results} == {"pass", "mismatch"}  # c is wrong: a stored failure too
    second, stats2 = _run(suite, store)
    assert (stats2.computed, stats2.from_store, stats2.started, stats2.workers) == (0, 4, [], [])
    assert _json(second) == _json(first)  # status, note, call, shape, output, diagnosis...
    assert second.frameworks == first.frameworks and second.environment == first.environment


def test_an_edited_case_is_recomputed_alone_and_a_title_is_not_an_edit(tmp_path, store):
    _run(_suite(tmp_path), store)
    edited = CASES.replace("expected: [[[1, 3, 5]]]", "expected: [[[1, 3, 2]]]").replace("title: one", "title: two")
    run, stats = _run(_suite(tmp_path, edited), store)
    assert (stats.computed, stats.from_store) == (1, 3)
    assert {r.case: r.status for r in run.results}["c"] == "pass"


@pytest.mark.parametrize("old, new", [
    ("random: 7", "random: 9"),  # a tensor's seed
    ("input: {shape: [1, 1, 3], arange: 1}", "input: {shape: [1, 1, 3], arange: 2}"),
    ("args: {stride: 2}, input: {shape: [1, 1, 3], arange: 1}", "args: {stride: 2}, dtype: float64, "
                                                                   "input: {shape: [1, 1, 3], arange: 1}"),
    ("input: [[[1, 2]]], weight: [[[1, 1]]], expected: [[[1, 3, 5]]]",
     "input: [[[1, 2]]], weight: [[[1, 1]]], expected: [[[1, 3, 5]]], tolerance: {rtol: 0.5, atol: 3.0}"),
])
def test_case_keys_follow_values_arguments_dtype_and_tolerance(tmp_path, old, new):
    before = {e.case.id: keys.case_digest(e.case) for e in _suite(tmp_path).entries}
    assert old in CASES
    after = {e.case.id: keys.case_digest(e.case) for e in _suite(tmp_path, CASES.replace(old, new)).entries}
    assert sum(before[k] != after[k] for k in before) == 1


def test_a_known_bug_entry_recomputes_only_the_cells_it_may_apply_to(tmp_path, store):
    suite = _suite(tmp_path)
    _run(suite, store)
    bugs = tmp_path / "bugs.yaml"
    bugs.write_text("- {reason: off by two, link: 'https://example.org/1', cases: [c], system: numpy}\n")
    loaded = knownbugs.load(["numpy"], [str(bugs)])
    run, stats = _run(suite, store, loaded)
    assert (stats.computed, stats.from_store) == (1, 3)
    assert {r.case: r.status for r in run.results}["c"] == "xfail"
    hits: set[str] = set()
    run2, stats2 = _run(suite, store, loaded, hits=hits)
    assert stats2.computed == 0 and hits == {loaded[0].where}  # a stored xfail still counts its entry as hit
    assert _json(run2) == _json(run)


@pytest.mark.parametrize("column", ["numpy", "numpy[x]", "numpy@1.26", "numpy[x]@1.26"])
def test_a_variant_or_labelled_column_keys_its_systems_known_bugs(tmp_path, column):
    bugs = tmp_path / "bugs.yaml"
    bugs.write_text("- {reason: off by two, link: 'https://example.org/1', cases: [c*], system: numpy}\n")
    loaded = knownbugs.load(["numpy"], [str(bugs)])
    assert knownbugs.base_id(column) == "numpy"
    assert keys.applicable_bugs(column, "c1", loaded) == loaded and keys.applicable_bugs(column, "d", loaded) == []


def test_versions_environment_and_device_are_in_the_system_key(monkeypatch):
    base = keys.system_fingerprint("numpy")
    assert keys.system_fingerprint("numpy", worker_env={"TF_ENABLE_ONEDNN_OPTS": "0"}) != base
    assert keys.system_fingerprint("numpy", device="cuda") != base
    monkeypatch.setenv("PWD", "/somewhere/else")  # a session variable changes no verdict
    monkeypatch.setenv("CONVTX_STORE", "/elsewhere.sqlite")
    monkeypatch.setenv("MAKEFLAGS", " -- OUT=/tmp/other")  # `make report OUT=...` then `convtx run` share results
    monkeypatch.setenv("MAKELEVEL", "1")
    assert keys.system_fingerprint("numpy") == base
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # anything else might
    assert keys.system_fingerprint("numpy") != base
    monkeypatch.delenv("OMP_NUM_THREADS")
    installed = dict(keys.installed())
    version, folder = installed["numpy"]
    monkeypatch.setattr(keys, "installed", lambda: {**installed, "numpy": (version + ".post1", folder)})
    keys.distributions.cache_clear()
    try:
        assert keys.system_fingerprint("numpy") != base
    finally:
        keys.distributions.cache_clear()


def test_a_new_version_recomputes(tmp_path, store, monkeypatch):
    suite = _suite(tmp_path)
    _run(suite, store)
    monkeypatch.setattr(keys, "code_digest", lambda: "convtx of tomorrow")
    assert _run(suite, store)[1].computed == 4


def test_refresh_recomputes_and_no_store_neither_reads_nor_writes(tmp_path, store):
    suite = _suite(tmp_path)
    _run(suite, store)
    assert _run(suite, store, refresh=True)[1].computed == 4
    assert _run(suite, None)[1].computed == 4
    assert _run(suite, store)[1].from_store == 4


def test_a_damaged_row_is_a_miss(tmp_path, store):
    suite = _suite(tmp_path)
    _run(suite, store)
    store.conn.execute("UPDATE results SET result = replace(result, '\"mismatch\"', '\"pass\"')")
    run, stats = _run(suite, store)
    assert (stats.computed, store.bad_rows) == (1, 1) and {r.case: r.status for r in run.results}["c"] == "mismatch"


@pytest.mark.parametrize("content, words", [
    (b"this is not a database, it is a note\n" * 40, "not an SQLite file"),
    (b"SQLite format 3\x00" + b"\xff" * 3000, "not a usable SQLite database"),
])
def test_a_corrupt_file_is_ignored_with_a_warning_and_left_alone(tmp_path, content, words):
    path = tmp_path / "store.sqlite"
    path.write_bytes(content)
    warnings: list[str] = []
    assert Store.open(str(path), warn=warnings.append) is None
    assert len(warnings) == 1 and words in warnings[0] and "ignored" in warnings[0]
    assert path.read_bytes() == content


def test_another_applications_database_is_ignored(tmp_path):
    path = tmp_path / "store.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE results (key TEXT, value TEXT)")
    conn.execute("INSERT INTO results VALUES ('k', 'v')")
    conn.commit()
    conn.close()
    warnings: list[str] = []
    assert Store.open(str(path), warn=warnings.append) is None
    assert "another application" in warnings[0]
    assert sqlite3.connect(path).execute("SELECT value FROM results").fetchall() == [("v",)]


def test_results_round_trip_exactly(store):
    result = Result("a", "numpy", "mismatch", [1, 2], [1, 2], float("nan"), "call()", "note \u00e9", "w",
                    [[0.1, 1e-300, -0.0]], "naive", "why")
    store.add("k1", result, ["bug"])
    store.flush()
    hit = store.results(["k1", "k2"])["k1"]
    assert json.dumps(hit.result.to_json()) == json.dumps(result.to_json()) and hit.bugs == ["bug"]
    assert dataclasses.replace(hit.result, max_abs_error=None) == dataclasses.replace(result, max_abs_error=None)


def test_cli_says_how_many_results_came_from_the_store(tmp_path, monkeypatch, cli, write_case):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONVTX_STORE", str(tmp_path / "s" / "store.sqlite"))
    path = write_case(CASES)
    code, out, _ = cli("run", path, "--frameworks", "numpy", "--quiet")
    assert code == 1 and "store: 0 result(s) from" in out and "4 computed; systems started: numpy" in out
    code, out, _ = cli("run", path, "--frameworks", "numpy", "--quiet", "--lf")
    assert code == 1 and "store: 1 result(s) from" in out and "0 computed; systems started: none" in out
    code, out, _ = cli("run", path, "--frameworks", "numpy", "--quiet", "--refresh")
    assert "store: 0 result(s) from" in out and "4 computed" in out
    code, out, _ = cli("run", path, "--frameworks", "numpy", "--quiet", "--no-cache")
    assert code == 1 and "store:" not in out
    assert os.listdir(tmp_path / "s") and not os.path.exists(tmp_path / ".convtx" / "store.sqlite")


def test_a_store_that_cannot_be_written_costs_the_store_not_the_run(tmp_path):
    warnings: list[str] = []
    store = Store.open(str(tmp_path / "store.sqlite"), warn=warnings.append)
    assert store is not None
    store.conn.execute("PRAGMA query_only = ON")  # as a read-only file or a full disk would
    run, stats = _run(_suite(tmp_path), store)
    assert stats.computed == 4 and len(run.results) == 4
    assert len(warnings) == 1 and "writing failed" in warnings[0]
    store.close()


def test_the_least_recently_used_results_go_first_beyond_the_size_limit(tmp_path, monkeypatch):
    from convtx.harness.engine import store as store_module
    path = str(tmp_path / "store.sqlite")
    first = Store.open(path)
    assert first is not None
    for i in range(10):
        first.add(f"k{i}", Result(f"c{i}", "numpy", "pass", note="x" * 1000), [])
        first.flush()
    first.results(["k0"])  # read: k0 is now the most recently used
    size = len(json.dumps(Result("c0", "numpy", "pass", note="x" * 1000).to_json(), separators=(",", ":")))
    monkeypatch.setattr(store_module, "MAX_BYTES", 5 * size + size // 2)  # room for five of them
    first.close()
    again = Store.open(path)
    assert again is not None and sorted(again.results([f"k{i}" for i in range(10)])) == ["k0", "k6", "k7", "k8", "k9"]
    again.close()
