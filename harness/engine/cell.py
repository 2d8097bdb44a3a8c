"""One cell, one path: a case on a system is planned, called, judged and matched against known bugs.

`run_cell` is the only place where plan -> call -> verdict happens, for every system (the NumPy
reference included: its executor runs in-process), and it serves `convtx run` (through the
runner), the fuzzer's shrinker and `convtx new --compute-with` (`compute_with`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convtx.adapters import load
from convtx.harness.caseformat.casefile import Entry
from convtx.harness.core.errors import UsageError
from convtx.harness.engine import knownbugs
from convtx.harness.engine.plan import NoCall, Task, plan
from convtx.harness.engine.results import Result
from convtx.harness.engine.verdict import conclude
from convtx.harness.engine.workers import Executor, Reply, executor_for


@dataclass
class CellOptions:
    """What every cell of a run shares: the known bugs, and where the matched ones are recorded."""

    known_bugs: list[knownbugs.KnownBug] = field(default_factory=list)
    hits: set[str] = field(default_factory=set)  # where (file:line) of every known-bug entry that matched


def run_cell(entry: Entry, system_id: str, executor: Executor, opts: CellOptions) -> Result:
    """The verdict of one case on one system (whose executor has been started)."""
    system = load(system_id)
    try:
        planned = plan(entry, system)
    except Exception as err:  # a harness bug costs one verdict, never the run
        return Result(entry.case.id, system_id, "error",
                      note=f"convtx could not plan the call: {type(err).__name__}: {err}")
    if isinstance(planned, NoCall):
        result = Result(entry.case.id, system_id, planned.status, note=planned.note, call=planned.code)
    else:
        result = conclude(entry, planned, _call(executor, planned), system)
    result.naive_port = _naive_note(entry, system.dialect)
    return _known(result, _facts(entry, system_id, planned), executor, opts)


def _call(executor: Executor, task: Task) -> Reply:
    return executor.call(task.op, dict(task.args), task.x, task.w, task.b, task.dtype)


def _facts(entry: Entry, system_id: str, planned: Task | NoCall) -> knownbugs.CellFacts:
    geometry = entry.reading.geometry if entry.reading is not None else None
    if isinstance(planned, Task) and planned.said is not None:
        return knownbugs.CellFacts(entry.case.id, system_id, geometry, dict(planned.said.full_args), planned.dtype)
    return knownbugs.CellFacts(entry.case.id, system_id, geometry, dict(entry.case.args), entry.case.dtype)


def _known(result: Result, facts: knownbugs.CellFacts, executor: Executor, opts: CellOptions) -> Result:
    hello = executor.hello
    version, environment = (hello.version, hello.environment) if hello else (None, {})
    verdict = knownbugs.judge(result.status, result.note, facts, opts.known_bugs, version, environment)
    result.status, result.note = verdict.status, verdict.note
    if verdict.entry is not None:
        opts.hits.add(verdict.entry.where)
    return result


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
        reply = _call(executor, planned)
    finally:
        executor.stop()
    if reply.kind != "ok":
        raise UsageError(f"{system_id} failed: {reply.message}")
    output: Any = planned.said.to_canonical_output(reply.output)
    return np.asarray(output)
