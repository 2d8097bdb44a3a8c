"""Batched cells without processes: `run_cells` gives each cell its own reply, known-bug hits and worker
exits; `Worker.call_many` resends what a dead worker never answered and kills one left mid-batch; the
runner's batches give the results, store keys and progress of one cell at a time."""

from __future__ import annotations

import pickle
import queue

import numpy as np
import pytest

from convtx.harness.caseformat.casefile import load_suite
from convtx.harness.engine import cell, incremental, knownbugs
from convtx.harness.engine.cell import CellOptions, run_cell, run_cells
from convtx.harness.engine.plan import NoCall
from convtx.harness.engine import runner
from convtx.harness.engine.runner import RunOptions, _batches, _compute, run_suite
from convtx.harness.engine.workers import Call, ExecStats, Hello, InProcess, Reply, Worker

CASES = """
- {id: a, framework: torch, input: [[[1, 2]]], weight: [[[1, 1]]], expected: [[[1, 3, 2]]]}
- {id: b, framework: torch, input: [[[3, 4]]], weight: [[[1, 1]]], expected: [[[3, 7, 4]]]}
- {id: c, framework: torch, input: [[[5, 6]]], weight: [[[1, 1]]], expected: [[[5, 11, 6]]]}
- {id: d, framework: torch, input: [[[7, 8]]], weight: [[[1, 1]]], expected: [[[7, 15, 9]]]}
- {id: e, framework: torch, input: [[[9, 1]]], weight: [[[1, 1]]], expected: [[[9, 10, 1]]]}
"""
OUT = {"a": [1, 3, 2], "b": [3, 7, 4], "c": [5, 11, 6], "d": [7, 15, 8], "e": [9, 10, 1]}  # d's case is wrong


def _entries(write_case):
    return load_suite([write_case(CASES)]).entries


def ok(case: str) -> Reply:
    return Reply("ok", output=np.array([[OUT[case]]], dtype=np.float64), seconds=0.01)


class Scripted:
    """An executor without a process: one scripted reply per call, in order (a callable reply is called
    with the executor first: a worker dying during that call)."""

    def __init__(self, *replies):
        self.adapter_id, self.hello, self.stats = "torch", Hello(True, "2.0", {}), ExecStats()
        self.script, self.batches = list(replies), []

    def call_many(self, calls):
        self.batches.append([float(c.x.ravel()[0]) for c in calls])
        for _ in calls:
            reply = self.script.pop(0)
            yield reply(self) if callable(reply) else reply


def dies(self) -> Reply:
    self.stats.exits.append(-9)
    return Reply("died", message="the torch worker died (exit code -9) and was restarted")


def test_each_cell_gets_its_own_reply_and_cells_without_a_call_take_none(write_case, monkeypatch):
    entries = _entries(write_case)
    real_plan = cell.plan

    def plan(entry, system):
        return NoCall("not_expressible", "no") if entry.case.id in ("b", "d") else real_plan(entry, system)

    monkeypatch.setattr(cell, "plan", plan)
    executor = Scripted(ok("a"), Reply("err", message="RuntimeError: boom"), ok("e"))
    done = list(run_cells(entries, "torch", executor, CellOptions()))
    assert [d.result.case for d in done] == ["a", "b", "c", "d", "e"]
    assert [d.result.status for d in done] == ["pass", "not_expressible", "error", "not_expressible", "pass"]
    assert "RuntimeError: boom" in done[2].result.note
    assert executor.batches == [[1.0, 5.0, 9.0]]  # one message: the three calls


def test_exits_and_known_bug_hits_belong_to_their_cell(write_case):
    bug = knownbugs.KnownBug("torch", "a bug", "https://example.org/1", "bugs.yaml:1", cases=("c",))
    opts = CellOptions(known_bugs=[bug])
    executor = Scripted(ok("a"), ok("b"), dies, ok("d"), ok("e"))
    done = list(run_cells(_entries(write_case), "torch", executor, opts))
    assert [d.exits for d in done] == [[], [], [-9], [], []]
    assert done[2].result.status == "xfail" and done[2].hits == {"bugs.yaml:1"}
    assert done[3].result.status == "mismatch" and not done[3].hits
    assert opts.hits == {"bugs.yaml:1"}


def test_run_cell_is_the_batch_of_one(write_case):
    entry = _entries(write_case)[1]
    executor = Scripted(ok("b"))
    assert run_cell(entry, "torch", executor, CellOptions()).status == "pass"
    assert executor.batches == [[3.0]]


def test_closing_run_cells_early_closes_the_batch(write_case):
    closed = []

    class Tracking(Scripted):
        def call_many(self, calls):
            try:
                yield from super().call_many(calls)
            finally:
                closed.append(True)

    cells = run_cells(_entries(write_case), "torch", Tracking(ok("a"), ok("b")), CellOptions())
    assert next(cells).result.status == "pass"
    cells.close()
    assert closed == [True]


def test_in_process_batches_equal_single_calls(write_case):
    entries = _entries(write_case)
    one = [run_cell(e, "numpy", InProcess("numpy"), CellOptions()).to_json() for e in entries]
    batched = [d.result.to_json() for d in run_cells(entries, "numpy", InProcess("numpy"), CellOptions())]
    assert batched == one and [r["status"] for r in one] == ["pass", "pass", "pass", "mismatch", "pass"]


# ---- the worker's side of a batch, with a scripted connection instead of a process ----------------

class Conn:
    """A connection whose worker answers from a script: a Reply tuple, "eof" (the worker died) or
    "hang" (no answer within the timeout)."""

    def __init__(self, *script):
        self.script, self.sent = list(script), []

    def send(self, message):
        self.sent.append([float(c[3].ravel()[0]) for c in message[1]])

    def poll(self, timeout):
        if self.script[0] == "hang":
            self.script.pop(0)
            return False
        return True

    def recv(self):
        item = self.script.pop(0)
        if item == "eof":
            raise EOFError
        return item


@pytest.fixture
def worker(monkeypatch):
    w = Worker("numpy", timeout=0.01)
    conn = Conn()
    monkeypatch.setattr(w, "_connection", lambda: (conn, None))
    killed = []
    monkeypatch.setattr(w, "kill", lambda: killed.append(True))
    yield w, conn, killed
    w.stop()


def _calls(*cues):
    return [Call("conv_transpose", {}, np.array([[[c, 2.0]]]), np.array([[[1.0, 1.0]]]), None, "float32")
            for c in cues]


def test_the_calls_a_dead_worker_never_answered_go_again_to_the_next(worker):
    w, conn, killed = worker
    out = ("ok", np.ones(3, np.float32), 0.5, None)
    conn.script = [out, "eof", out, "hang", ("err", "ValueError: no", 0.1), out]
    replies = list(w.call_many(_calls(1, 2, 3, 4, 5, 6)))
    assert [r.kind for r in replies] == ["ok", "died", "ok", "timeout", "err", "ok"]
    assert conn.sent == [[1, 2, 3, 4, 5, 6], [3, 4, 5, 6], [5, 6]]
    assert replies[0].output.dtype == np.float64 and "within 0.01 s" in replies[3].message
    assert w.stats.batches == 3 and w.stats.calls == 4 and w.stats.exits == [None]
    assert killed  # the timeout (and the death) killed it


def test_a_batch_left_before_its_last_reply_kills_the_worker(worker):
    w, conn, killed = worker
    conn.script = [("ok", np.ones(3), 0.1, None)] * 3
    replies = w.call_many(_calls(1, 2, 3))
    next(replies)
    assert not killed
    replies.close()
    assert killed == [True]


def test_a_batch_read_to_the_end_leaves_the_worker_alone(worker):
    w, conn, killed = worker
    conn.script = [("ok", np.ones(3), 0.1, None)] * 2
    assert [r.kind for r in w.call_many(_calls(1, 2))] == ["ok", "ok"] and not killed


def test_a_hello_travels_with_plain_strings():
    class Version(str):
        pass

    hello = pickle.loads(pickle.dumps(Hello(True, Version("2.0"), {"torch": Version("2.0"), "l": [Version("x")]})))
    assert type(hello.version) is str and type(hello.environment["torch"]) is str
    assert type(hello.environment["l"][0]) is str and hello.environment == {"torch": "2.0", "l": ["x"]}


# ---- the runner's batches -------------------------------------------------------------------------

def test_batch_size_changes_nothing_but_the_messages(write_case):
    suite = load_suite([write_case(CASES)])
    runs = []
    for batch in (1, 2, 32):
        seen: list[str] = []
        run = run_suite(suite, ["numpy"], progress=lambda r: seen.append(r.case), opts=RunOptions(batch=batch))
        runs.append([r.to_json() for r in run.results])
        assert sorted(seen) == ["a", "b", "c", "d", "e"]  # progress: one call per result
    assert runs[0] == runs[1] == runs[2]


def test_exitfirst_stops_inside_a_batch(write_case):
    run = run_suite(load_suite([write_case(CASES)]), ["numpy"], opts=RunOptions(exitfirst=True, batch=32))
    assert [r.case for r in run.results] == ["a", "b", "c", "d"]  # d fails: e is never computed


def test_a_verdict_made_while_the_worker_was_killed_is_not_stored(write_case):
    entries = _entries(write_case)
    plan = incremental.Plan("torch", entries, entries, keys={e.case.id: f"key-{e.case.id}" for e in entries})
    out: queue.Queue = queue.Queue()
    executor = Scripted(ok("a"), dies, Reply("timeout", message="no answer"), ok("d"), ok("e"))
    assert _compute(entries, plan, executor, out, RunOptions())
    messages = [out.get_nowait() for _ in range(out.qsize())]
    stored = {msg[1].case: msg[2] for msg in messages if msg[0] == "result"}
    assert stored == {"a": "key-a", "b": "", "c": "", "d": "key-d", "e": "key-e"}


def test_batches_are_cut_by_count_and_by_tensor_elements(write_case, monkeypatch):
    entries = _entries(write_case)  # 2 + 2 elements each
    assert [[e.case.id for e in b] for b in _batches(entries, 2)] == [["a", "b"], ["c", "d"], ["e"]]
    monkeypatch.setattr(runner, "BATCH_ELEMENTS", 9)
    assert [len(b) for b in _batches(entries, 32)] == [2, 2, 1]
    monkeypatch.setattr(runner, "BATCH_ELEMENTS", 3)
    assert [len(b) for b in _batches(entries, 32)] == [1, 1, 1, 1, 1]  # each larger than the cap: alone
    assert _batches([], 32) == []
