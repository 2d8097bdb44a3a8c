"""Running a suite: every case through every system, each system on its own executor, in parallel.

One thread per system feeds that system's executor (a worker process, or in-process for the
NumPy reference) and streams verdicts (`cell.run_cell`: plan, call, verdict, known bugs in the
scope of the worker's version and environment) back to the caller's thread, which reports
progress.  An interrupt (Ctrl-C, SIGTERM) stops the workers and returns what was computed, marked
partial.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from dataclasses import dataclass, field
from typing import Callable

from convtx.adapters import load
from convtx.harness.caseformat.casefile import Entry, Suite
from convtx.harness.engine.cell import CellOptions, run_cell
from convtx.harness.engine.results import FAILING, Result, RunResults
from convtx.harness.engine.verdict import invalid_results
from convtx.harness.engine.workers import CALL_TIMEOUT, Executor, executor_for

Progress = Callable[[Result], None]

__all__ = ["run_suite", "RunOptions"]


@dataclass
class RunOptions(CellOptions):
    timeout: float = CALL_TIMEOUT
    device: str = "cpu"
    worker_env: dict[str, str] = field(default_factory=dict)  # extra environment for every worker (e.g. oneDNN off)
    stop: threading.Event = field(default_factory=threading.Event)
    exitfirst: bool = False  # stop every system after the first failing verdict (pytest's -x)
    shard: tuple[int, int] | None = None  # (i, n): only the cells of shard i of n (see `in_shard`)
    executors: list[Executor] = field(default_factory=list)  # live executors, killed at once on an interrupt


def _system_job(fw: str, entries: list[Entry], out: queue.Queue, opts: RunOptions) -> None:
    try:
        system = load(fw)
        if not system.available():
            _skip_all(fw, entries, out, f"skipped: not installed ({system.install_hint})")
            return
        executor = executor_for(fw, timeout=opts.timeout, device=system.device or opts.device, env=opts.worker_env)
        opts.executors.append(executor)
        try:
            hello = executor.start()
            if not hello.available:
                _skip_all(fw, entries, out, f"skipped: {hello.error}")
                return
            out.put(("hello", fw, hello.version, hello.environment))
            for entry in entries:
                if opts.stop.is_set():
                    return
                result = run_cell(entry, fw, executor, opts)
                out.put(("result", result))
                if opts.exitfirst and result.status in FAILING:
                    opts.stop.set()
        finally:
            executor.stop()
    except Exception as err:  # never lose the other systems' results to one system's bug
        out.put(("crash", fw, f"{type(err).__name__}: {err}"))
    finally:
        out.put(("done", fw))


def in_shard(case_id: str, system_id: str, shard: tuple[int, int]) -> bool:
    """Whether the cell (case, system) belongs to shard i of n: a stable hash, the same on every machine."""
    digest = hashlib.sha256(f"{case_id}\0{system_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % shard[1] == shard[0] - 1


def _cells(entries: list[Entry], fw: str, opts: RunOptions) -> list[Entry]:
    shard = opts.shard
    return entries if shard is None else [e for e in entries if in_shard(e.case.id, fw, shard)]


def _skip_all(fw: str, entries: list[Entry], out: queue.Queue, note: str) -> None:
    out.put(("hello", fw, None, {}))
    for entry in entries:
        out.put(("result", Result(entry.case.id, fw, "skipped", note=note)))


def run_suite(suite: Suite, frameworks: list[str], progress: Progress | None = None,
              opts: RunOptions | None = None) -> RunResults:
    opts = opts or RunOptions()
    run = RunResults(frameworks={fw: None for fw in frameworks})
    out: queue.Queue = queue.Queue()
    threads = [threading.Thread(target=_system_job, args=(fw, _cells(suite.entries, fw, opts), out, opts), daemon=True,
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
                if opts.exitfirst and msg[1].status in FAILING:
                    opts.stop.set()
    except KeyboardInterrupt:
        opts.stop.set()
        run.partial = True
        for executor in list(opts.executors):
            executor.kill()
        for t in threads:
            t.join(10)
    for result in invalid_results(suite, frameworks):
        if opts.shard is None or in_shard(result.case, result.framework, opts.shard):
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
