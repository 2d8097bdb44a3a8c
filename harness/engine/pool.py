"""Executors by system: started once, shared by the runs that ask for them.

A run takes each system's executor from a `Pool` (`acquire`: the started executor and its hello) and
gives it back when that system's cells are done (`release`).  A run's own pool (`Pool()`, what
`run_suite` makes when it is given none) stops a worker as soon as it is given back, so a finished
system frees its memory.  A kept pool (`Pool(keep=True)`, what `convtx watch` holds) keeps the workers
alive between runs, so a re-run after an edit pays no framework import; `prestart` starts workers in
the background (the heaviest first) before any run asks for them, and `close` stops them all.

An executor is keyed by what its worker was started with (system, device, call timeout, environment):
a run asking with another environment gets a worker of its own.  A worker that died between runs is
restarted by its next call, as within a run.  Acquiring a system whose start is in progress (a
prestart) waits for that start instead of starting a second worker.  The first run to acquire an
executor gets its start in its `stats`; for a later run they start afresh (its calls only; `starts` 0
says its start was paid by an earlier run).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from convtx.harness.engine.worker_loop import Hello
from convtx.harness.engine.workers import CALL_TIMEOUT, ExecStats, Executor, executor_for

_Key = tuple[str, str, float, tuple[tuple[str, str], ...]]


class Pool:
    def __init__(self, keep: bool = False):
        self.keep = keep
        self._live: dict[_Key, Executor] = {}
        self._starting: dict[_Key, threading.Lock] = {}
        self._used: set[_Key] = set()  # keys a run has acquired (a prestart's first run gets its start figures)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    @staticmethod
    def key(system: str, device: str, timeout: float, env: dict[str, str]) -> _Key:
        return system, device, float(timeout), tuple(sorted(env.items()))

    def acquire(self, system: str, *, timeout: float = CALL_TIMEOUT, device: str = "cpu",
                env: dict[str, str] | None = None) -> tuple[Executor, Hello]:
        """The system's started executor and its hello (an unavailable hello: nothing runs there)."""
        key = self.key(system, device, timeout, env or {})
        executor, hello = self._started(key)
        with self._lock:
            used = key in self._used
            self._used.add(key)
        if used:  # a previous run had it: this run's figures are its calls only
            executor.stats = ExecStats()
        return executor, hello

    def _started(self, key: _Key) -> tuple[Executor, Hello]:
        """The executor for key, started now unless it was before (or is being, by another thread)."""
        with self._lock:
            gate = self._starting.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                executor = self._live.get(key)
            if executor is not None and executor.hello is not None:
                return executor, executor.hello
            system, device, timeout, env = key
            executor = executor_for(system, timeout=timeout, device=device, env=dict(env))
            hello = executor.start()
            if self.keep:
                with self._lock:
                    self._live[key] = executor
            return executor, hello

    def release(self, executor: Executor) -> None:
        """Done with it for this run: stopped, unless the pool keeps its workers."""
        if not self.keep:
            executor.stop()

    def prestart(self, systems: Iterable[str], *, timeout: float = CALL_TIMEOUT, device: str = "cpu",
                 env: dict[str, str] | None = None) -> None:
        """Start these systems' workers now, in parallel and in the order given (heaviest first),
        without waiting for them (`ready` waits)."""
        for system in systems:
            thread = threading.Thread(target=self._prestart_one, args=(system, timeout, device, env),
                                      daemon=True, name=f"convtx-start-{system}")
            self._threads.append(thread)
            thread.start()

    def _prestart_one(self, system: str, timeout: float, device: str, env: dict[str, str] | None) -> None:
        try:
            self._started(self.key(system, device, timeout, env or {}))
        except Exception:  # noqa: BLE001 - the run that asks for it reports why it cannot start
            pass

    def ready(self, timeout: float | None = None) -> list[str]:
        """Wait for the prestarts; the systems whose workers are up (available) now."""
        for thread in self._threads:
            thread.join(timeout)
        with self._lock:
            return [key[0] for key, ex in self._live.items() if ex.hello is not None and ex.hello.available]

    def executors(self) -> list[Executor]:
        with self._lock:
            return list(self._live.values())

    def kill(self) -> None:
        """Kill every kept worker at once (an interrupt)."""
        for executor in self.executors():
            executor.kill()

    def close(self) -> None:
        """Stop every kept worker."""
        with self._lock:
            live, self._live = list(self._live.values()), {}
            self._used.clear()
        for executor in live:
            executor.stop()
