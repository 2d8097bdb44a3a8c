"""One cell, one path: a case on a system is planned, called, judged and matched against known bugs.

`run_cells` is the only place where plan -> call -> verdict happens, for every system (the NumPy
reference included: its executor runs in-process): it plans a batch of cases, sends their calls to the
executor together (`call_many`: one worker message) and judges each reply as it comes back.  It serves
`convtx run` and `convtx fuzz` (through the runner); `run_cell`, the batch of one, serves the fuzzer's
shrinker, Ray campaigns and `convtx new --compute-with` (`compute_with`).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convtx.adapters import load
from convtx.adapters.contract import System
from convtx.harness.caseformat.casefile import Entry
from convtx.harness.core.errors import UsageError
from convtx.harness.engine import knownbugs
from convtx.harness.engine.plan import NoCall, Task, plan
from convtx.harness.engine.results import Result
from convtx.harness.engine.verdict import conclude
from convtx.harness.engine.workers import Call, Executor, Reply, executor_for


@dataclass
class CellOptions:
    """What every cell of a run shares: the known bugs, and where the matched ones are recorded."""

    known_bugs: list[knownbugs.KnownBug] = field(default_factory=list)
    hits: set[str] = field(default_factory=set)  # where (file:line) of every known-bug entry that matched


@dataclass
class Done:
    """One computed cell: its verdict, the known-bug entries it matched (their `where`; also added to
    `CellOptions.hits`) and the exit codes of the workers that died while it was computed."""

    result: Result
    hits: set[str]
    exits: list[int | None]


Planned = Task | NoCall | Result  # a Result: the planning failed (a harness bug), that is the verdict


@dataclass(frozen=True)
class _On:
    """What the cells of one `run_cells` share: the system, its id, its executor, its known bugs."""

    system: System
    id: str
    executor: Executor
    bugs: list[knownbugs.KnownBug]  # the system's own: no other entry can match its cells


def run_cell(entry: Entry, system_id: str, executor: Executor, opts: CellOptions) -> Result:
    """The verdict of one case on one system (whose executor has been started)."""
    (done,) = run_cells([entry], system_id, executor, opts)
    return done.result


def run_cells(entries: list[Entry], system_id: str, executor: Executor,
              opts: CellOptions) -> Generator[Done, None, None]:
    """The cells of `entries` on one system (whose executor has been started), in order, each as soon as
    its reply came: every case planned, the calls sent as one batch, each reply judged, known bugs matched.
    Closing the iterator early abandons the batch's remaining calls."""
    on = _On(load(system_id), system_id, executor, knownbugs.of_system(system_id, opts.known_bugs))
    plans = [_plan(entry, on) for entry in entries]
    replies = executor.call_many([_call(p) for p in plans if isinstance(p, Task)])
    try:
        for entry, planned in zip(entries, plans):
            deaths = len(executor.stats.exits)
            reply = next(replies) if isinstance(planned, Task) else None
            result, hits = _verdict(entry, planned, reply, on)
            opts.hits.update(hits)
            yield Done(result, hits, executor.stats.exits[deaths:])
    finally:
        replies.close()


def _plan(entry: Entry, on: _On) -> Planned:
    try:
        return plan(entry, on.system)
    except Exception as err:  # a harness bug costs one verdict, never the run
        return Result(entry.case.id, on.id, "error",
                      note=f"convtx could not plan the call: {type(err).__name__}: {err}")


def _call(task: Task) -> Call:
    return Call(task.op, dict(task.args), task.x, task.w, task.b, task.dtype)


def _verdict(entry: Entry, planned: Planned, reply: Reply | None, on: _On) -> tuple[Result, set[str]]:
    """One cell's verdict from its plan (and its reply, if it made a call); the known-bug entry it matched."""
    if isinstance(planned, Result):
        return planned, set()
    if isinstance(planned, NoCall):
        result = Result(entry.case.id, on.id, planned.status, note=planned.note, call=planned.code)
    else:
        assert reply is not None
        result = conclude(entry, planned, reply, on.system)
    result.naive_port = _naive_note(entry, on.system.dialect)
    return result, _known(result, _facts(entry, on.id, planned), on)


def _facts(entry: Entry, system_id: str, planned: Task | NoCall) -> knownbugs.CellFacts:
    geometry = entry.reading.geometry if entry.reading is not None else None
    if isinstance(planned, Task) and planned.said is not None:
        return knownbugs.CellFacts(entry.case.id, system_id, geometry, dict(planned.said.full_args), planned.dtype)
    return knownbugs.CellFacts(entry.case.id, system_id, geometry, dict(entry.case.args), entry.case.dtype)


def _known(result: Result, facts: knownbugs.CellFacts, on: _On) -> set[str]:
    """Apply the known bugs to the verdict (in the scope of the executor's hello); the entry that matched."""
    hello = on.executor.hello
    version, environment = (hello.version, hello.environment) if hello else (None, {})
    verdict = knownbugs.judge(result.status, result.note, facts, on.bugs, version, environment)
    result.status, result.note = verdict.status, verdict.note
    return {verdict.entry.where} if verdict.entry is not None else set()


def _naive_note(entry: Entry, dialect: str) -> str:
    from convtx.harness.semantics import DIALECTS
    from convtx.harness.semantics.naive import naive_port
    if entry.reading is None or entry.case.framework == dialect or dialect not in DIALECTS:
        return ""
    try:
        return naive_port(entry.case.framework, dict(entry.case.args), entry.reading, dialect).note
    except Exception as err:  # a note must never cost a verdict
        return f"(no naive-port note: {type(err).__name__}: {err})"


def compute_with(system_id: str, entry: Entry) -> np.ndarray:
    """One case's canonical output on one system (for `convtx new --compute-with`); UsageError if none."""
    from convtx.adapters import systems
    if system_id not in systems():
        raise UsageError(f"--compute-with: unknown system {system_id!r} (known: {', '.join(systems())})")
    planned = plan(entry, load(system_id))
    if isinstance(planned, NoCall) or planned.said is None:
        note = planned.note if isinstance(planned, NoCall) else "the case's call is declared invalid"
        raise UsageError(f"{system_id} cannot compute this case: {note}")
    executor = executor_for(system_id)
    try:
        hello = executor.start()
        if not hello.available:
            raise UsageError(f"{system_id}: {hello.error}")
        (reply,) = executor.call_many([_call(planned)])
    finally:
        executor.stop()
    if reply.kind != "ok":
        raise UsageError(f"{system_id} failed: {reply.message}")
    output: Any = planned.said.to_canonical_output(reply.output)
    return np.asarray(output)
