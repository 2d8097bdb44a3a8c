"""Batches on real worker processes: a call that raises, hangs, exits or segfaults in the middle of a
batch costs only its own reply - the calls after it go to a restarted worker and get theirs - and the
runner stores exactly the verdicts it would store one cell at a time."""

from __future__ import annotations

import numpy as np
import pytest

from convtx import adapters
from convtx.harness.caseformat.casefile import load_suite
from convtx.harness.engine import incremental
from convtx.harness.engine.runner import RunOptions, run_suite
from convtx.harness.engine.store import Store
from convtx.harness.engine.workers import Call, Worker

OK, RAISES, HANGS, EXITS, SEGFAULTS = 1.0, 101.0, 102.0, 103.0, 104.0  # the fault system's cues


@pytest.fixture
def faulty():
    adapters.register("faulty", "support.fault_system:FaultySystem")


@pytest.fixture
def worker(faulty):
    w = Worker("faulty", timeout=3)
    assert w.start().available
    yield w
    w.stop()


def _call(cue: float) -> Call:
    return Call("conv_transpose", {}, np.array([[[cue, 2.0]]]), np.array([[[1.0, 1.0]]]), None, "float64")


def test_faults_in_the_middle_of_a_batch_cost_only_their_own_calls(worker):
    cues = [1, RAISES, 3, HANGS, 5, EXITS, 7, SEGFAULTS, 9]
    replies = list(worker.call_many([_call(c) for c in cues]))
    assert [r.kind for r in replies] == ["ok", "err", "ok", "timeout", "ok", "died", "ok", "died", "ok"]
    for cue, reply in zip(cues, replies):
        if reply.kind == "ok":
            np.testing.assert_array_equal(reply.output, [[[cue, cue + 2, 2]]])
            assert reply.output.dtype == np.float64
    assert "RuntimeError: injected failure" in replies[1].message
    assert "within 3 s" in replies[3].message and "exit code 3" in replies[5].message
    assert worker.stats.exits == [3, -11]  # the timeout's kill is no death of the framework's
    assert worker.stats.starts == 4 and worker.stats.batches == 4  # the rest resent after each fault
    assert worker.stats.calls == 6  # ok and err replies


def test_batches_follow_each_other_on_one_worker_and_an_abandoned_one_is_not_read_as_the_next(worker):
    assert [r.kind for r in worker.call_many([_call(1), _call(2)])] == ["ok", "ok"]
    replies = worker.call_many([_call(3), _call(4), _call(5)])
    assert next(replies).kind == "ok"
    replies.close()  # two calls left unread: the worker is killed, not asked again
    (reply,) = worker.call_many([_call(7)])
    np.testing.assert_array_equal(reply.output, [[[7, 9, 2]]])
    assert worker.stats.starts == 2 and worker.stats.exits == []


CASES = """
- {id: a-ok, framework: torch, input: [[[1, 2]]], weight: [[[1, 1]]], expected: [[[1, 3, 2]]]}
- {id: b-raises, framework: torch, input: [[[101, 2]]], weight: [[[1, 1]]], expected: [[[101, 103, 2]]]}
- {id: c-hangs, framework: torch, input: [[[102, 2]]], weight: [[[1, 1]]], expected: [[[102, 104, 2]]]}
- {id: d-exits, framework: torch, input: [[[103, 2]]], weight: [[[1, 1]]], expected: [[[103, 105, 2]]]}
- {id: e-ok-after, framework: torch, input: [[[3, 4]]], weight: [[[1, 1]]], expected: [[[3, 7, 4]]]}
"""


def test_the_runner_stores_what_it_would_store_one_cell_at_a_time(faulty, write_case, tmp_path):
    suite = load_suite([write_case(CASES)])
    store = Store.open(str(tmp_path / "store.sqlite"))
    assert store is not None
    try:
        run = run_suite(suite, ["faulty"], opts=RunOptions(timeout=3, store=store, batch=16))
        store.flush()
        got = {r.case: r.status for r in run.results}
        assert got == {"a-ok": "pass", "b-raises": "error", "c-hangs": "timeout", "d-exits": "error",
                       "e-ok-after": "pass"}
        again = incremental.prepare("faulty", suite.entries, store, False, [], _case_keys(suite), "cpu", {})
        assert [e.case.id for e in again.todo] == ["c-hangs"]  # a timeout is never stored; a crash is a verdict
    finally:
        store.close()


def _case_keys(suite) -> dict[str, str]:
    from convtx.harness.engine import keys
    return {e.case.id: keys.case_digest(e.case) for e in suite.entries}
