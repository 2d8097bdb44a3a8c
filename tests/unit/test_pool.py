"""engine.pool: a run's own pool stops each executor when it is given back; a kept pool hands the same
started executor to the next run (its stats afresh) and a run asking for a system whose prestart is
under way waits for that start instead of starting a second one."""

from __future__ import annotations

import threading
import time

from convtx.harness.engine import pool as pool_module
from convtx.harness.engine.pool import Pool
from convtx.harness.engine.worker_loop import Hello
from convtx.harness.engine.workers import ExecStats


class FakeExecutor:
    made: list["FakeExecutor"] = []

    def __init__(self, system: str, **settings):
        self.system, self.settings = system, settings
        self.hello: Hello | None = None
        self.stats = ExecStats()
        self.stopped = self.killed = False
        FakeExecutor.made.append(self)

    def start(self) -> Hello:
        time.sleep(0.2)  # a framework import
        self.stats.starts += 1
        self.hello = Hello(True, "1.0", {})
        return self.hello

    def stop(self) -> None:
        self.stopped = True

    def kill(self) -> None:
        self.killed = True


def _fake(monkeypatch):
    FakeExecutor.made = []
    monkeypatch.setattr(pool_module, "executor_for", lambda system, **kw: FakeExecutor(system, **kw))


def test_a_runs_own_pool_stops_what_is_given_back(monkeypatch):
    _fake(monkeypatch)
    pool = Pool()
    first, hello = pool.acquire("torch")
    assert hello.available and first.stats.starts == 1
    pool.release(first)
    assert first.stopped
    second, _ = pool.acquire("torch")
    assert second is not first and len(FakeExecutor.made) == 2


def test_a_kept_pool_reuses_the_started_executor_with_fresh_stats(monkeypatch):
    _fake(monkeypatch)
    pool = Pool(keep=True)
    first, _ = pool.acquire("torch", env={"A": "1"})
    first.stats.calls = 7
    pool.release(first)
    assert not first.stopped
    again, hello = pool.acquire("torch", env={"A": "1"})
    assert again is first and hello.available and again.stats.calls == 0 and again.stats.starts == 0
    other, _ = pool.acquire("torch", env={"A": "2"})  # another environment: a worker of its own
    assert other is not first
    pool.close()
    assert first.stopped and other.stopped and pool.executors() == []


def test_acquire_during_a_prestart_waits_for_it(monkeypatch):
    _fake(monkeypatch)
    pool = Pool(keep=True)
    pool.prestart(["jax", "torch"])
    got = []
    threads = [threading.Thread(target=lambda: got.append(pool.acquire("torch")[0])) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(pool.ready()) == ["jax", "torch"]
    assert len(FakeExecutor.made) == 2 and all(e is got[0] for e in got)
    pool.kill()
    assert all(e.killed for e in FakeExecutor.made)
