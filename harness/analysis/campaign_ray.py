"""`convtx fuzz --executor ray`: a campaign's calls on a Ray cluster (this module owns only that execution).

`executor(address)` returns a `RayExecution`, a function shaped like `run_suite` (suite, systems,
progress, options -> `RunResults`), so `fuzz` generates, groups, shrinks and writes exactly as after
a local run.  On the cluster, one actor per system per node (`SystemHost`) holds that system's
executor (`workers.executor_for`: a worker process, or the actor itself for the in-process
reference) and runs every cell through `cell.run_cells` (a chunk is one batch), the one path plan -> call -> verdict ->
known bugs.  The configurations are put in the object store once, in chunks every system reads; the
driver hands an actor its system's next chunk whenever it returns one (`IN_FLIGHT` at a time), so
faster nodes take more, and gathers the verdicts, the systems' versions and environments, the
known-bug entries that matched and the executors' timings into one `RunResults`, in `run_suite`'s
order.  A result store and shards are `convtx run`'s; a campaign uses neither.

Every node needs convtx and the frameworks installed.  Systems and dialects the driver registered at
run time (tests, the Python API) are registered again in each actor (`Registry`), importable there
through the driver's `sys.path` entries that exist on the node.  Ray is imported only when a run asks
for it (importing convtx never does); without it, `executor` raises the one-line `NOT_INSTALLED`.
A connection this module opens (`ray.init`: a local cluster without an address) it closes.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from convtx import adapters
from convtx.harness import semantics
from convtx.harness.caseformat.casefile import Entry, Suite
from convtx.harness.core.errors import UsageError
from convtx.harness.engine.cell import CellOptions, run_cells
from convtx.harness.engine.knownbugs import KnownBug
from convtx.harness.engine.results import Result, RunResults
from convtx.harness.engine.runner import Progress, RunOptions
from convtx.harness.engine.verdict import invalid_results
from convtx.harness.engine.workers import Hello, executor_for

NOT_INSTALLED = "ray is not installed (pip install '.[ray]')"
CHUNK = 8  # configurations per message
IN_FLIGHT = 2  # chunks an actor holds at once: one running, one waiting
WAIT_SECONDS = 0.5  # how often the driver looks at the stop flag while waiting


@dataclass(frozen=True)
class Registry:
    """What the driver registered at run time beyond the built-in systems and dialects, replayed in actors."""

    systems: dict[str, str]  # id -> "module:Class"
    dialects: dict[str, bytes]  # name -> the pickled dialect
    sys_path: tuple[str, ...]

    @classmethod
    def here(cls) -> "Registry":
        systems = {k: v for k, v in adapters.systems().items() if adapters.BUILTIN.get(k) != v}
        dialects = {name: pickle.dumps(d) for name, d in semantics.DIALECTS.items()}
        return cls(systems, dialects, tuple(sys.path))

    def replay(self) -> None:
        """In an actor: the driver's import paths that exist here (after its own), dialects and systems."""
        sys.path.extend(p for p in self.sys_path if p and p not in sys.path and os.path.isdir(p))
        for name, blob in self.dialects.items():
            if name not in semantics.DIALECTS:
                semantics.register_dialect(pickle.loads(blob))
        for system_id, path in self.systems.items():
            if adapters.systems().get(system_id) != path:
                adapters.register(system_id, path)


@dataclass(frozen=True)
class HostSpec:
    """One system's executor, as the local runner would make it."""

    system: str
    timeout: float
    device: str
    env: dict[str, str]
    known_bugs: tuple[KnownBug, ...]


@dataclass
class Done:
    """A chunk's verdicts, in its order, and the known-bug entries (file:line) they matched."""

    results: list[Result]
    hits: list[str]


class SystemHost:
    """Inside a Ray actor: one system's executor on one node."""

    def __init__(self, spec: HostSpec, registry: Registry):
        registry.replay()
        self.spec = spec
        self.executor = executor_for(spec.system, timeout=spec.timeout, device=spec.device, env=spec.env)

    def start(self) -> Hello:
        return self.executor.start()

    def run(self, chunk: list[Entry]) -> Done:
        opts = CellOptions(known_bugs=list(self.spec.known_bugs))
        results = [done.result for done in run_cells(chunk, self.spec.system, self.executor, opts)]  # one batch
        return Done(results, sorted(opts.hits))

    def stop(self) -> dict[str, float]:
        self.executor.stop()
        return self.executor.stats.figures()


@dataclass(frozen=True)
class Flight:
    """A chunk on its way through one actor."""

    system: str
    host: Any  # the actor's handle
    chunk: int


@dataclass
class SystemState:
    """The driver's view of one system: its actors, the chunks left, when it finished."""

    hosts: list[Any] = field(default_factory=list)
    todo: deque[int] = field(default_factory=deque)
    figures: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0


def _ray() -> Any:
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise UsageError(NOT_INSTALLED) from None


def executor(address: str | None) -> "RayExecution":
    """The Ray execution of a campaign (UsageError NOT_INSTALLED without ray)."""
    _ray()
    return RayExecution(address)


@dataclass(frozen=True)
class RayExecution:
    """`run_suite`'s shape, on the Ray cluster at `address` (None: one started here, or the one already joined)."""

    address: str | None

    def __call__(self, suite: Suite, frameworks: list[str], progress: Progress | None,
                 opts: RunOptions) -> RunResults:
        ray = _ray()
        opened = _connect(ray, self.address)
        try:
            return _Driver(ray, suite, frameworks, progress, opts).execute()
        finally:
            if opened:
                ray.shutdown()


def _connect(ray: Any, address: str | None) -> bool:
    """Join the cluster at `address`, or start one here; False if this process is connected already."""
    if ray.is_initialized():
        return False
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **quiet)
    else:
        ray.init(include_dashboard=False, **quiet)
    return True


class _Driver:
    """The campaign's side in this process: actors started, chunks handed out, verdicts gathered."""

    def __init__(self, ray: Any, suite: Suite, frameworks: list[str], progress: Progress | None, opts: RunOptions):
        self.ray, self.suite, self.frameworks, self.progress, self.opts = ray, suite, frameworks, progress, opts
        self.run = RunResults(frameworks={fw: None for fw in frameworks})
        self.systems = {fw: SystemState() for fw in frameworks}
        self.pending: dict[Any, Flight] = {}
        self.t0 = time.perf_counter()

    def execute(self) -> RunResults:
        entries = self.suite.entries
        chunks = [self.ray.put(entries[k:k + CHUNK]) for k in range(0, len(entries), CHUNK)]
        try:
            self._start_hosts()
            for fw, state in self.systems.items():
                state.todo.extend(range(len(chunks)))
                for host in state.hosts:
                    for _ in range(IN_FLIGHT):
                        self._submit(fw, host, chunks)
            self._gather(chunks)
        except KeyboardInterrupt:
            self.opts.stop.set()
            self.run.partial = True
        finally:
            self._stop_hosts(graceful=not self.run.partial)
        for result in invalid_results(self.suite, self.frameworks):
            self._emit(result)
        self._sort()
        return self.run

    def _start_hosts(self) -> None:
        affinity = importlib.import_module("ray.util.scheduling_strategies").NodeAffinitySchedulingStrategy
        nodes = [n["NodeID"] for n in self.ray.nodes() if n.get("Alive")]
        host_class = self.ray.remote(SystemHost)
        registry = Registry.here()
        starting: dict[str, list[tuple[Any, Any]]] = {}
        for fw in self.frameworks:
            spec = HostSpec(fw, self.opts.timeout, adapters.load(fw).device or self.opts.device,
                            dict(self.opts.worker_env), tuple(self.opts.known_bugs))
            hosts = [host_class.options(num_cpus=0, scheduling_strategy=affinity(node, soft=False)).remote(spec, registry)
                     for node in nodes]
            starting[fw] = [(host, host.start.remote()) for host in hosts]
        for fw, started in starting.items():
            self._admit(fw, started)

    def _admit(self, fw: str, started: list[tuple[Any, Any]]) -> None:
        """Keep the system's actors whose executor started; record its first hello (as `run_suite` records it)."""
        state, refusal = self.systems[fw], None
        for host, ref in started:
            try:
                hello = self.ray.get(ref)
            except Exception as err:  # an actor that could not start costs its node, never the run
                self._crash(fw, err)
                continue
            if not hello.available:
                refusal = hello.error
                self.ray.kill(host)
                continue
            if not state.hosts:
                self.run.frameworks[fw], self.run.environment[fw] = hello.version, hello.environment
                self.opts.stats.started.append(fw)
            state.hosts.append(host)
        if not state.hosts and refusal is not None:
            self.run.environment[fw] = {}
            for entry in self.suite.entries:
                self._emit(Result(entry.case.id, fw, "skipped", note=f"skipped: {refusal}"))

    def _submit(self, fw: str, host: Any, chunks: list[Any]) -> None:
        todo = self.systems[fw].todo
        if todo and not self.opts.stop.is_set():
            index = todo.popleft()
            self.pending[host.run.remote(chunks[index])] = Flight(fw, host, index)

    def _gather(self, chunks: list[Any]) -> None:
        while self.pending and not self.opts.stop.is_set():
            ready, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=WAIT_SECONDS)
            for ref in ready:
                flight = self.pending.pop(ref)
                self._take(ref, flight)
                if flight.host in self.systems[flight.system].hosts:
                    self._submit(flight.system, flight.host, chunks)
                if not any(f.system == flight.system for f in self.pending.values()):
                    self.systems[flight.system].wall = time.perf_counter() - self.t0

    def _take(self, ref: Any, flight: Flight) -> None:
        """A returned chunk's verdicts into the run; an actor that failed is dropped and its chunk redone."""
        state = self.systems[flight.system]
        try:
            done: Done = self.ray.get(ref)
        except Exception as err:  # the actor died (or a harness bug): the other actors go on
            self._crash(flight.system, err)
            if flight.host in state.hosts:
                state.hosts.remove(flight.host)
            if state.hosts:
                state.todo.appendleft(flight.chunk)
            return
        self.opts.hits.update(done.hits)
        for result in done.results:
            if result.status != "skipped":
                self.opts.stats.computed += 1
            self._emit(result)

    def _stop_hosts(self, graceful: bool) -> None:
        """Stop every executor (collecting its figures), then the actors; after an interrupt, kill them at once."""
        stopping = [(fw, host, host.stop.remote() if graceful else None)
                    for fw, state in self.systems.items() for host in state.hosts]
        for fw, host, ref in stopping:
            figures: dict[str, float] = {}
            try:
                figures = self.ray.get(ref, timeout=30) if ref is not None else {}
            except Exception:  # an actor already gone has no figures left to give
                pass
            state = self.systems[fw]
            for name, value in figures.items():
                state.figures[name] = state.figures.get(name, 0.0) + value
            self.ray.kill(host)
        for fw, state in self.systems.items():
            if state.figures:
                self.opts.stats.timings[fw] = {**state.figures, "wall": state.wall or time.perf_counter() - self.t0}

    def _crash(self, fw: str, err: BaseException) -> None:
        text = " ".join(str(err).split())[:300]
        self.run.environment.setdefault("crashes", []).append(f"{fw}: {type(err).__name__}: {text}")

    def _emit(self, result: Result) -> None:
        self.run.results.append(result)
        if self.progress:
            self.progress(result)

    def _sort(self) -> None:
        """Results in case order, then system order: as `run_suite` leaves them."""
        order = {e.case.id: i for i, e in enumerate(self.suite.entries)}
        fw_order = {fw: i for i, fw in enumerate(self.frameworks)}
        self.run.results.sort(key=lambda r: (order.get(r.case, len(order)), r.case, fw_order.get(r.framework, 0)))
