"""Running a suite: every case through every system, each system on its own executor, in parallel.

One thread per system feeds that system's executor (a worker process, or in-process for the
NumPy reference) batches of cells (`RunOptions.batch` per worker message, so its calls run back to
back) and streams their verdicts (`cell.run_cells`: plan, call, verdict, known bugs in the scope of
the worker's version and environment), each as soon as its reply came, back to the caller's thread,
which reports progress.  An interrupt (Ctrl-C, SIGTERM) stops the workers and returns what was
computed, marked partial.

Executors come from a `pool.Pool`: the run's own (each stopped when its system is done) or one the
caller keeps across runs (`RunOptions.pool`, e.g. `convtx watch`: warm workers, no import paid again).

With a result store (`RunOptions.store`, see `incremental`), a cell whose key is stored is read
back instead of computed, and only systems with cells to compute start an executor - the heaviest
first, by the start time the store measured last - each with the compilation-cache folder beside
the store (`CONVTX_CACHE_DIR`).  `RunOptions.stats` says what came from where.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from convtx.adapters import load
from convtx.harness.caseformat.casefile import Entry, Suite
from convtx.harness.engine import incremental, keys
from convtx.harness.engine.cell import CellOptions, run_cells
from convtx.harness.engine.incremental import Plan, RunStats
from convtx.harness.engine.pool import Pool
from convtx.harness.engine.results import FAILING, Result, RunResults
from convtx.harness.engine.store import Store, cache_dir
from convtx.harness.engine.verdict import invalid_results
from convtx.harness.engine.workers import CACHE_ENV, CALL_TIMEOUT, Executor, Worker

Progress = Callable[[Result], None]

__all__ = ["run_suite", "prestart", "RunOptions", "RunStats"]
FLUSH_SECONDS = 2.0
BATCH = 32  # cells per worker message: its calls run back to back; each verdict still streams on its own
BATCH_ELEMENTS = 4_000_000  # input, weight and bias elements per message: large cases go in smaller batches


@dataclass
class RunOptions(CellOptions):
    timeout: float = CALL_TIMEOUT
    device: str = "cpu"
    worker_env: dict[str, str] = field(default_factory=dict)  # extra environment for every worker (e.g. oneDNN off)
    stop: threading.Event = field(default_factory=threading.Event)
    exitfirst: bool = False  # stop every system after the first failing verdict (pytest's -x)
    shard: tuple[int, int] | None = None  # (i, n): only the cells of shard i of n (see `in_shard`)
    executors: list[Executor] = field(default_factory=list)  # live executors, killed at once on an interrupt
    store: Store | None = None  # the result store: read what it has, write what is computed (None: neither)
    refresh: bool = False  # with a store: compute every cell anyway, and write it
    on_start: Callable[[list[str]], None] | None = None  # told which systems start an executor, before they do
    stats: RunStats = field(default_factory=RunStats)
    batch: int = BATCH  # cells per worker message
    pool: Pool | None = None  # where the executors come from: a kept pool's outlive the run (None: the run's own)


def _system_job(plan: Plan, out: queue.Queue, opts: RunOptions, pool: Pool) -> None:
    fw, t0 = plan.system, time.perf_counter()
    try:
        executor, hello = pool.acquire(fw, **_settings(fw, opts))
        opts.executors.append(executor)
        try:
            if not hello.available:
                _skip_all(fw, plan.cells, out, f"skipped: {hello.error}")
                return
            out.put(("hello", fw, hello.version, hello.environment))
            for batch in _batches(_to_compute(plan, hello.version, hello.environment, out), opts.batch):
                if opts.stop.is_set() or not _compute(batch, plan, executor, out, opts):
                    return
        finally:
            pool.release(executor)
            out.put(("timing", fw, {**executor.stats.figures(), "wall": time.perf_counter() - t0}))
    except Exception as err:  # never lose the other systems' results to one system's bug
        out.put(("crash", fw, f"{type(err).__name__}: {err}"))
    finally:
        out.put(("done", fw))


def _settings(fw: str, opts: RunOptions) -> dict:
    """What the system's executor is started with in this run (its pool key)."""
    return {"timeout": opts.timeout, "device": load(fw).device or opts.device, "env": _env(opts)}


def prestart(pool: Pool, frameworks: list[str], opts: RunOptions) -> list[str]:
    """Start the installed systems' executors in the pool now, the heaviest first (by the store's
    last measured starts), as a run with these options would; the systems started."""
    ordered = incremental.heaviest_first([fw for fw in frameworks if load(fw).available()], _timings(opts))
    for fw in ordered:
        pool.prestart([fw], **_settings(fw, opts))
    return ordered


def _timings(opts: RunOptions) -> dict[str, dict[str, float]]:
    return opts.store.timings() if opts.store is not None else {}


def _env(opts: RunOptions) -> dict[str, str]:
    """The workers' environment: the run's, and the compilation caches' folder beside the store."""
    if opts.store is None or CACHE_ENV in opts.worker_env:
        return opts.worker_env
    return {**opts.worker_env, CACHE_ENV: cache_dir(opts.store.path)}


def _to_compute(plan: Plan, version: str | None, environment: dict, out: queue.Queue) -> list[Entry]:
    """The cells left to compute once the worker said hello: its stored results are used only if the
    worker is the one that made them."""
    if not plan.cached:
        return plan.todo
    if incremental.same_hello(plan.hello, version, environment):
        out.put(("cached", plan.system, plan.cached))
        return plan.todo
    out.put(("recompute", plan.system, "its worker reports another version or environment than the stored "
                                        "results were made with"))
    return plan.cells


def _batches(entries: list[Entry], size: int) -> list[list[Entry]]:
    """The cells in order, in batches of at most `size` cells and BATCH_ELEMENTS tensor elements (a larger
    case is a batch of its own)."""
    out: list[list[Entry]] = [[]]
    elements = 0
    for entry in entries:
        case = entry.case
        n = sum(t.size for t in (case.input, case.weight, case.bias) if t is not None)
        if out[-1] and (len(out[-1]) >= size or elements + n > BATCH_ELEMENTS):
            out.append([])
            elements = 0
        out[-1].append(entry)
        elements += n
    return out if out[-1] else []


def _compute(entries: list[Entry], plan: Plan, executor: Executor, out: queue.Queue, opts: RunOptions) -> bool:
    """One batch of cells, each result sent on (with its store key if it may be stored) as it comes;
    False once the run is stopped (the batch's remaining calls abandoned)."""
    cells = run_cells(entries, plan.system, executor, opts)
    try:
        for done in cells:
            result, key = done.result, plan.keys.get(done.result.case, "")
            keep = bool(key) and incremental.storable(result, done.exits)
            out.put(("result", result, key if keep else "", sorted(done.hits)))
            if opts.exitfirst and result.status in FAILING:
                opts.stop.set()
            if opts.stop.is_set():
                return False
    finally:
        cells.close()
    return True


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
        out.put(("result", Result(entry.case.id, fw, "skipped", note=note), "", []))


def _plans(suite: Suite, frameworks: list[str], opts: RunOptions) -> list[Plan]:
    case_keys = {e.case.id: keys.case_digest(e.case) for e in suite.entries} if opts.store is not None else {}
    plans = []
    for fw in frameworks:
        cells = _cells(suite.entries, fw, opts)
        try:
            plans.append(incremental.prepare(fw, cells, opts.store, opts.refresh, opts.known_bugs, case_keys,
                                             opts.device, opts.worker_env))
        except Exception:  # an unloadable system: its own thread reports it, as a crash, without the store
            plans.append(Plan(fw, cells, list(cells)))
    return plans


def run_suite(suite: Suite, frameworks: list[str], progress: Progress | None = None,
              opts: RunOptions | None = None) -> RunResults:
    opts = opts or RunOptions()
    run = RunResults(frameworks={fw: None for fw in frameworks})
    out: queue.Queue = queue.Queue()
    plans = _plans(suite, frameworks, opts)
    for plan in plans:
        if not plan.todo:  # nothing to compute: no executor
            _settle_without_worker(plan, out)
    by_system = {p.system: p for p in plans if p.todo}
    busy = [by_system[s] for s in incremental.heaviest_first(list(by_system), _timings(opts))]
    opts.stats.started = [p.system for p in busy]
    if opts.on_start:
        opts.on_start(opts.stats.started)
    pool = opts.pool or Pool()
    threads = [threading.Thread(target=_system_job, args=(p, out, opts, pool), daemon=True, name=f"convtx-{p.system}")
               for p in busy]
    for t in threads:
        t.start()
    writer = _Writer(run, opts, progress, {p.system: p for p in plans})
    try:
        writer.drain(out, {p.system for p in busy})
    except KeyboardInterrupt:
        opts.stop.set()
        run.partial = True
        for executor in list(opts.executors):
            executor.kill()
        for t in threads:
            t.join(10)
    finally:
        writer.finish(out)
    opts.stats.workers = [e.adapter_id for e in opts.executors if isinstance(e, Worker)]
    for result in invalid_results(suite, frameworks):
        if opts.shard is None or in_shard(result.case, result.framework, opts.shard):
            _emit(run, result, progress)
    _sort(run, suite, frameworks)
    return run


def _settle_without_worker(plan: Plan, out: queue.Queue) -> None:
    """A system with nothing to compute: skipped (not installed), or every result from the store."""
    if plan.skip is not None:
        _skip_all(plan.system, plan.cells, out, plan.skip)
        return
    version, environment = (plan.hello.version, plan.hello.environment) if plan.hello else (None, {})
    out.put(("hello", plan.system, version, environment))
    if plan.cached:
        out.put(("cached", plan.system, plan.cached))


class _Writer:
    """The caller's side: messages from the systems' threads into the run, the progress and the store."""

    def __init__(self, run: RunResults, opts: RunOptions, progress: Progress | None, plans: dict[str, Plan]):
        self.run, self.opts, self.progress, self.plans = run, opts, progress, plans
        self.where = {keys.bug_digest(b): b.where for b in opts.known_bugs}
        self.digest_of = {b.where: d for d, b in ((keys.bug_digest(b), b) for b in opts.known_bugs)}
        self.flushed = time.monotonic()
        self.pending: set[str] = set()

    def drain(self, out: queue.Queue, pending: set[str]) -> None:
        self.pending = pending
        while self.pending:
            self.handle(out.get())

    def handle_ready(self, out: queue.Queue) -> None:
        while True:
            try:
                self.handle(out.get_nowait())
            except queue.Empty:
                return

    def handle(self, msg: tuple) -> None:
        kind, run, stats = msg[0], self.run, self.opts.stats
        if kind == "done":
            self.pending.discard(msg[1])
            self.flush()
        elif kind == "hello":
            run.frameworks[msg[1]], run.environment[msg[1]] = msg[2], msg[3]
            self.remember_hello(msg[1], msg[2], msg[3])
        elif kind == "crash":
            run.environment.setdefault("crashes", []).append(f"{msg[1]}: {msg[2]}")
        elif kind == "cached":
            for hit in msg[2]:
                self.opts.hits.update(self.where[d] for d in hit.bugs if d in self.where)
                stats.from_store += 1
                self.emit(hit.result)
        elif kind == "recompute":
            stats.recomputed[msg[1]] = msg[2]
        elif kind == "timing":
            stats.timings[msg[1]] = msg[2]
            if self.opts.store is not None and msg[2].get("starts"):  # a warm worker's start was measured before
                self.opts.store.add_timing(msg[1], msg[2])
        elif kind == "result":
            self.computed(msg[1], msg[2], msg[3])

    def remember_hello(self, fw: str, version: str | None, environment: dict) -> None:
        plan, store = self.plans[fw], self.opts.store
        if store is not None and plan.fingerprint and plan.todo and version is not None:
            store.add_hello(plan.fingerprint, fw, version, environment)

    def computed(self, result: Result, key: str, hits: list[str]) -> None:
        if result.status != "skipped":
            self.opts.stats.computed += 1
        if key and self.opts.store is not None:
            self.opts.store.add(key, result, [self.digest_of[w] for w in hits if w in self.digest_of])
            if time.monotonic() - self.flushed > FLUSH_SECONDS:
                self.flush()
        self.emit(result)

    def emit(self, result: Result) -> None:
        _emit(self.run, result, self.progress)
        if self.opts.exitfirst and result.status in FAILING:
            self.opts.stop.set()

    def flush(self) -> None:
        if self.opts.store is not None:
            self.opts.store.flush()
        self.flushed = time.monotonic()

    def finish(self, out: queue.Queue) -> None:
        """After the last system (or an interrupt): what is queued, then everything computed, stored."""
        self.handle_ready(out)
        self.flush()


def _emit(run: RunResults, result: Result, progress: Progress | None) -> None:
    run.results.append(result)
    if progress:
        progress(result)


def _sort(run: RunResults, suite: Suite, frameworks: list[str]) -> None:
    """Results in case order, then framework order: the same results always print the same."""
    order = {e.case.id: i for i, e in enumerate(suite.entries)}
    fw_order = {fw: i for i, fw in enumerate(frameworks)}
    run.results.sort(key=lambda r: (order.get(r.case, len(order)), r.case, fw_order.get(r.framework, 0)))
