"""Running a suite: every case through every framework, each framework in its own worker, in parallel.

One thread per framework feeds that framework's worker process (see `workers`) and streams
verdicts (known bugs applied, in the scope of the worker's version and environment) back to the
caller's thread, which reports progress.  The
NumPy reference runs in-process.  An interrupt (Ctrl-C, SIGTERM) stops the workers and returns
what was computed, marked partial.
"""

from __future__ import annotations

import queue
import re
import threading
from dataclasses import dataclass, field
from typing import Callable

from convtx.adapters import REFERENCE, load
from convtx.adapters.base import NativeCall
from convtx.harness.engine import knownbugs
from convtx.harness.caseformat.casefile import Entry, Suite
from convtx.harness.semantics.naive import naive_port
from convtx.harness.engine.plan import Task, plan_task
from convtx.harness.engine.results import Result, RunResults
from convtx.harness.engine.verdict import invalid_results, judge, problem_of, run_entry
from convtx.harness.engine.workers import CALL_TIMEOUT, Reply, Worker

Progress = Callable[[Result], None]

__all__ = ["run_suite", "RunOptions", "problem_of", "judge", "run_entry", "conclude"]


@dataclass
class RunOptions:
    timeout: float = CALL_TIMEOUT
    device: str = "cpu"
    known_bugs: list = field(default_factory=list)  # knownbugs.KnownBug entries
    worker_env: dict = field(default_factory=dict)  # extra environment for every worker (e.g. oneDNN off)
    stop: threading.Event = field(default_factory=threading.Event)
    workers: list = field(default_factory=list)  # live workers, killed at once on an interrupt
    hits: set = field(default_factory=set)  # where (file:line) of every known-bug entry that matched a cell


def conclude(entry: Entry, task: Task, reply: Reply) -> Result:
    """The verdict for one worker reply."""
    case, fw = entry.case, task.framework
    base = dict(call=task.code, weight_conversion=task.weight_conversion)
    if task.mode == "refusal":
        if reply.kind == "ok":
            shape = list(getattr(reply.output, "shape", []))
            return Result(case.id, fw, "mismatch", shape=shape, note=f"the case declares this call invalid "
                          f"({case.expected.reason}), but {fw} accepted it and returned shape {shape}", **base)
        if reply.kind == "err":
            return Result(case.id, fw, "pass", note=f"refused as the case declares: {reply.message}", **base)
    if reply.kind == "timeout":
        return Result(case.id, fw, "timeout", note=reply.message, **base)
    if reply.kind == "err" and refusal_of(fw, reply.message):
        return Result(case.id, fw, "unsupported", note=f"{fw} has no kernel for this call in this build/device "
                      f"(its own refusal): {reply.message} [{task.code}]", **base)
    if reply.kind in ("err", "died"):
        return Result(case.id, fw, "error", note=f"{reply.message} [{task.code}]", **base)
    canonical = task.reading.to_canonical_output(reply.output)
    return judge(entry, fw, canonical, NativeCall(fw, task.code, task.weight_conversion))


def refusal_of(system: str, message: str) -> str | None:
    """The system's declared refusal signature (REFUSALS) that an error message matches, if any."""
    for pattern in load(system).REFUSALS:
        if re.search(pattern, message):
            return pattern
    return None


def _framework_job(fw: str, entries: list[Entry], out: queue.Queue, opts: RunOptions) -> None:
    adapter = load(fw)
    try:
        if fw == REFERENCE:
            out.put(("hello", fw, adapter.version(), {"device": "cpu", "accumulate": "float64"}))
            for entry in entries:
                if opts.stop.is_set():
                    return
                out.put(("result", run_entry(entry, fw, adapter), None))
            return
        if not adapter.available():
            _skip_all(fw, entries, out, f"skipped: not installed ({adapter.INSTALL_HINT})")
            return
        worker = Worker(fw, timeout=opts.timeout, device=opts.device, env=opts.worker_env)
        opts.workers.append(worker)
        try:
            hello = worker.start()
            if not hello.available:
                _skip_all(fw, entries, out, f"skipped: {hello.error}")
                return
            out.put(("hello", fw, hello.version, hello.environment))
            for entry in entries:
                if opts.stop.is_set():
                    return
                out.put(("result", run_cell(entry, fw, worker, opts), None))
        finally:
            worker.stop()
    except Exception as err:  # never lose the other frameworks' results to one adapter's bug
        out.put(("crash", fw, f"{type(err).__name__}: {err}"))
    finally:
        out.put(("done", fw))


def _run_one(entry: Entry, fw: str, worker: Worker) -> tuple[Result, knownbugs.CellFacts]:
    geometry = entry.reading.geometry if entry.reading is not None else None
    facts = knownbugs.CellFacts(entry.case.id, fw, geometry, dict(entry.case.args), entry.case.dtype)
    try:
        task = plan_task(entry, fw)
    except Exception as err:
        return Result(entry.case.id, fw, "error", note=f"convtx could not plan the call: {type(err).__name__}: {err}"), facts
    if isinstance(task, Result):
        result = task
    else:
        native = task.reading.args if task.reading is not None else task.args
        facts = knownbugs.CellFacts(entry.case.id, fw, geometry, dict(native), task.dtype)
        result = conclude(entry, task, worker.call(task.op, task.args, task.x, task.w, task.b, task.dtype))
    result.naive_port = _naive_note(entry, fw)
    return result, facts


def run_cell(entry: Entry, fw: str, worker: Worker, opts: RunOptions) -> Result:
    """One case on one system's (started) worker: plan, call, verdict, known bugs."""
    result, facts = _run_one(entry, fw, worker)
    hello = worker.hello
    return _known(result, facts, opts, hello.version if hello else None, hello.environment if hello else {})


def _known(result: Result, facts: knownbugs.CellFacts, opts: RunOptions, version, environment) -> Result:
    """Apply the known-bug entries in scope of this worker's version and environment."""
    verdict = knownbugs.judge(result.status, result.note, facts, opts.known_bugs, version, environment)
    result.status, result.note = verdict.status, verdict.note
    if verdict.entry is not None:
        opts.hits.add(verdict.entry.where)
    return result


def _naive_note(entry: Entry, fw: str) -> str:
    dialect = load(fw).DIALECT
    if entry.reading is None or entry.case.framework == dialect:
        return ""
    try:
        return naive_port(entry.case.framework, dict(entry.case.args), entry.reading, dialect).note
    except Exception as err:  # a note must never cost a verdict
        return f"(no naive-port note: {type(err).__name__}: {err})"


def _skip_all(fw: str, entries: list[Entry], out: queue.Queue, note: str) -> None:
    out.put(("hello", fw, None, {}))
    for entry in entries:
        out.put(("result", Result(entry.case.id, fw, "skipped", note=note), None))


def run_suite(suite: Suite, frameworks: list[str], progress: Progress | None = None,
              opts: RunOptions | None = None) -> RunResults:
    opts = opts or RunOptions()
    run = RunResults(frameworks={fw: None for fw in frameworks})
    out: queue.Queue = queue.Queue()
    threads = [threading.Thread(target=_framework_job, args=(fw, suite.entries, out, opts), daemon=True,
                                name=f"convtx-{fw}") for fw in frameworks]
    for t in threads:
        t.start()
    pending = set(frameworks)
    try:
        while pending:
            msg = out.get()
            if msg[0] == "done":
                pending.discard(msg[1])
            elif msg[0] == "hello":
                run.frameworks[msg[1]] = msg[2]
                run.environment[msg[1]] = msg[3]
            elif msg[0] == "crash":
                run.environment.setdefault("crashes", []).append(f"{msg[1]}: {msg[2]}")
            else:
                _emit(run, msg[1], progress)
    except KeyboardInterrupt:
        opts.stop.set()
        run.partial = True
        for worker in list(opts.workers):
            worker.kill()
        for t in threads:
            t.join(10)
    for result in invalid_results(suite, frameworks):
        _emit(run, result, progress)
    _sort(run, suite, frameworks)
    return run


def _emit(run: RunResults, result: Result, progress: Progress | None) -> None:
    run.results.append(result)
    if progress:
        progress(result)


def _sort(run: RunResults, suite: Suite, frameworks: list[str]) -> None:
    """Results in case order, then framework order: the same results always print the same."""
    order = {e.case.id: i for i, e in enumerate(suite.entries)}
    fw_order = {fw: i for i, fw in enumerate(frameworks)}
    run.results.sort(key=lambda r: (order.get(r.case, len(order)), r.case, fw_order.get(r.framework, 0)))
