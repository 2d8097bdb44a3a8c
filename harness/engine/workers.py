"""Executors: where a system's calls run.  `Worker`: one long-lived process per system, restarted
after a crash or a hang; `InProcess`: in convtx's own process, for systems that declare it safe.

A worker instantiates its system (and so imports its framework) in a fresh `spawn`ed process with
the system's environment (KERAS_BACKEND, JAX_ENABLE_X64, ...), says hello (available? version,
environment), then executes calls until told to stop.  The parent side (`Worker`) enforces a
per-call timeout, turns a dead or hung worker into a `died`/`timeout` reply and starts a new one,
so a segfault, `os._exit` or infinite loop in one framework never takes the run down.  Worker
stdout/stderr (framework logs) go to a log file whose tail is quoted when a worker dies.  A labelled
id's worker (`X@label`) runs in another interpreter, started by `launch` instead of spawned.

Batches: `call_many` sends several calls in one message and the worker (`worker_loop`) answers each
as soon as it is made, so a system's calls run back to back instead of waiting for a round trip each;
every call keeps its own timeout, and a call that hangs or kills the worker costs only itself: the calls
after it go again to a new worker.  `call` is the batch of one.

Where the time goes: the worker times its start (instantiating the system, importing its framework,
the hello) and each call; the parent times each reply (from the batch's send or the previous reply),
so IPC - pickling, pipes, scheduling, the parent's own lateness - is the difference (`ExecStats`).
With `CONVTX_PROFILE_CALLS=1` in its environment a worker makes every successful call twice and
reports the second too: the first minus the second is the compilation (or other first-time cost) of
that shape.

Warm compilers: a worker started with `CONVTX_CACHE_DIR` (the runner passes the folder beside its
result store) also gets its system's declared `cache_env`, each value's `{cache}` replaced by that
folder (e.g. `JAX_COMPILATION_CACHE_DIR: "{cache}/jax"`), so frameworks with a persistent
compilation cache keep it across runs.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
import time
import traceback
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

import numpy as np

from convtx.adapters import instantiate, load, path_of
from convtx.adapters.contract import System
from convtx.harness.engine import launch
from convtx.harness.engine.worker_loop import GONE, Call, Hello, Reply
from convtx.harness.engine.worker_loop import invoke as _invoke
from convtx.harness.engine.worker_loop import serve as _serve
from convtx.harness.engine.worker_loop import short as _short

CALL_TIMEOUT = 120.0
START_TIMEOUT = 300.0
CACHE_ENV = "CONVTX_CACHE_DIR"
PROFILE_ENV = "CONVTX_PROFILE_CALLS"


@dataclass
class ExecStats:
    """Where one executor's time went (seconds; `starts` counts worker starts, restarts included)."""

    starts: int = 0
    start: float = 0.0  # parent's wall time from spawning to the hello
    imports: float = 0.0  # the worker's own part of that: the system and its framework
    calls: int = 0
    batches: int = 0  # messages that carried calls (a worker restarted mid-batch gets the rest as a new one)
    call: float = 0.0  # in the worker
    ipc: float = 0.0  # each reply's wait (since the batch was sent or the previous reply came) minus its call
    profiled: int = 0
    first: float = 0.0  # profiled calls: first time (compile + compute)
    repeat: float = 0.0  # profiled calls: second time (compute)
    exits: list[int | None] = field(default_factory=list)  # exit codes of workers that died (None: no restart)

    def add_call(self, reply: Reply, round_trip: float | None) -> None:
        self.calls += 1
        self.call += reply.seconds
        if round_trip is not None:
            self.ipc += max(0.0, round_trip - reply.seconds)
        if reply.repeat is not None:
            self.profiled += 1
            self.first += reply.seconds
            self.repeat += reply.repeat

    def figures(self) -> dict[str, float]:
        """import, compile, compute, ipc (and the counts): compile is known only for profiled calls."""
        compile_s = max(0.0, self.first - self.repeat) if self.profiled else 0.0
        return {"start": self.start, "import": self.imports, "calls": float(self.calls), "call": self.call,
                "compile": compile_s, "compute": self.call - compile_s, "ipc": self.ipc,
                "profiled": float(self.profiled), "starts": float(self.starts), "batches": float(self.batches)}


def worker_main(system_path: str, conn, env: dict[str, str], log_path: str, device: str) -> None:
    """Entry point of a worker process (Ctrl-C is the parent's to handle: the worker ignores SIGINT)."""
    t0 = time.perf_counter()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.environ.update(env)
    try:
        system = instantiate(system_path)
        if not system.available():
            conn.send(("hello", Hello(False, error=f"not installed ({system.install_hint})")))
            return
        why = system.unavailable(device)
        if why:
            conn.send(("hello", Hello(False, error=f"{system.id}: {why}")))
            return
        hello = Hello(True, system.version(), system.environment(device))
        hello.seconds = time.perf_counter() - t0
        conn.send(("hello", hello))
    except BaseException as err:  # a broken install is a verdict, not a crash
        traceback.print_exc()
        conn.send(("hello", Hello(False, error=f"cannot load: {_short(err)}")))
        return
    _serve(system, conn, device, os.environ.get(PROFILE_ENV) == "1")


class Worker:
    """The parent's handle on one system's worker process."""

    def __init__(self, adapter_id: str, *, timeout: float = CALL_TIMEOUT, device: str = "cpu",
                 start_timeout: float = START_TIMEOUT, env: dict[str, str] | None = None):
        self.adapter_id = adapter_id
        self.system_path = path_of(adapter_id)
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.device = device
        self.extra_env = dict(env or {})
        self.interpreter = launch.interpreter_for(adapter_id)  # `X@label`: another Python's (None: this one)
        self.process: BaseProcess | launch.Child | None = None
        self.conn: Connection | None = None
        self.hello: Hello | None = None
        self.stats = ExecStats()
        fd, self.log_path = tempfile.mkstemp(prefix=f"convtx-{adapter_id}-", suffix=".log")
        os.close(fd)

    def _env(self) -> dict[str, str]:
        system = load(self.adapter_id)  # system modules import no framework
        return {**system.env, **cache_env(system, self.extra_env.get(CACHE_ENV) or os.environ.get(CACHE_ENV)),
                **self.extra_env}

    def start(self) -> Hello:
        t0 = time.perf_counter()
        hello = self._spawn()
        self.stats.starts += 1
        self.stats.start += time.perf_counter() - t0
        self.stats.imports += hello.seconds
        return hello

    def _connect(self) -> Connection:
        """Start the worker process and connect to it: spawned by this interpreter, or started in another
        one for a labelled id (`launch`: the same messages over a socket)."""
        if self.interpreter is not None:
            self.process, conn = launch.start(self.interpreter, self.system_path, self._env(), self.log_path,
                                              self.device)
            return conn
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self.process = process = ctx.Process(target=worker_main, daemon=True, name=f"convtx-{self.adapter_id}",
                                             args=(self.system_path, child, self._env(), self.log_path, self.device))
        process.start()
        child.close()
        return parent

    def _spawn(self) -> Hello:
        hello: Hello
        problem = self.interpreter.problem() if self.interpreter is not None else None
        if problem is not None:  # a labelled id without a usable interpreter: no process
            self.hello = hello = Hello(False, error=problem)
            return hello
        self.conn = parent = self._connect()
        if not parent.poll(self.start_timeout):
            self.kill()
            hello = Hello(False, error=f"worker did not start within {self.start_timeout:g} s")
        else:
            try:
                hello = parent.recv()[1]
            except (EOFError, OSError):
                hello = Hello(False, error=f"worker died while starting{self._log_tail()}")
                self.kill()
        self.hello = hello
        return hello

    def call(self, op: str, args: dict, x, w, b, dtype: str) -> Reply:
        """Run one call (a batch of one: see `call_many`)."""
        (reply,) = self.call_many([Call(op, args, x, w, b, dtype)])
        return reply

    def call_many(self, calls: Sequence[Call]) -> Generator[Reply, None, None]:
        """One reply per call, in order, each as soon as the worker made it; outputs come back as float64.

        The calls travel in one message.  Each has the whole timeout (from the previous reply); a call that
        times out or kills the worker gets its `timeout`/`died` reply and the calls after it are sent again,
        to a new worker.  Closing the iterator before the last reply kills the worker (its late replies
        must not be read as another batch's)."""
        done = 0
        while done < len(calls):
            for reply in self._batch(calls[done:]):
                done += 1
                if reply.kind == "ok" and isinstance(reply.output, np.ndarray):
                    reply.output = reply.output.astype(np.float64)
                yield reply

    def invoke(self, name: str, **kwargs) -> Reply:
        """Call an optional adapter function (e.g. input_gradient) in the worker."""
        conn, failed = self._connection()
        if conn is None:
            return failed or self._died()
        try:
            conn.send(("invoke", name, kwargs))
        except (OSError, AttributeError):
            return self._died()
        return self._receive(conn, time.perf_counter(), count=False)

    def _batch(self, calls: Sequence[Call]) -> Generator[Reply, None, None]:
        """Send the calls as one message; their replies, until the last or the worker is gone."""
        conn, failed = self._connection()
        if conn is None:
            yield failed or self._died()
            return
        pending = len(calls)
        try:
            since = time.perf_counter()
            try:
                conn.send(("batch", [c.message() for c in calls]))
            except (OSError, AttributeError):
                pending = 0
                yield self._died()
                return
            self.stats.batches += 1
            while pending:
                reply = self._receive(conn, since)
                since = time.perf_counter()
                pending = 0 if reply.kind in GONE else pending - 1
                yield reply
        finally:
            if pending:  # closed before its last reply: the worker is still at it
                self.kill()

    def _connection(self) -> tuple[Connection | None, Reply | None]:
        """The worker's connection, started first if needed: (None, its `died` reply) if it cannot start,
        (None, None) if it was killed (from another thread) since."""
        if self.process is None or not self.process.is_alive():
            hello = self.start()
            if not hello.available:
                self.stats.exits.append(None)
                return None, Reply("died", message=hello.error or "worker unavailable")
        return self.conn, None

    def _receive(self, conn: Connection, since: float, count: bool = True) -> Reply:
        """The next reply, or `timeout` (the worker killed) after the timeout, or `died`; a call's reply is
        counted in the stats (`count`) with its wait since `since`."""
        try:
            if not conn.poll(self.timeout):
                self.kill()
                return Reply("timeout", message=f"no answer within {self.timeout:g} s; the worker was "
                                                "killed and will be restarted")
            kind, payload, *timing = conn.recv()
        except (EOFError, OSError, AttributeError):
            return self._died()
        seconds = float(timing[0]) if timing else 0.0
        reply = (Reply("ok", output=payload, seconds=seconds, repeat=timing[1] if len(timing) > 1 else None)
                 if kind == "ok" else Reply("err", message=payload, seconds=seconds))
        if count:
            self.stats.add_call(reply, time.perf_counter() - since)
        return reply

    def _died(self) -> Reply:
        """The reply for a worker that is gone (its exit code and last log line); it restarts on the next call."""
        process = self.process
        if process is not None:
            process.join(5)
        code = process.exitcode if process is not None else None
        self.stats.exits.append(code)
        self.kill()
        return Reply("died", message=f"the {self.adapter_id} worker died (exit code {code}) and was "
                                     f"restarted{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as fh:
                lines = [ln.strip() for ln in fh.read().splitlines() if ln.strip()]
        except OSError:
            return ""
        return f"; last log line: {lines[-1][:300]}" if lines else ""

    def kill(self) -> None:
        """Kill the worker process (safe to call from another thread, and twice)."""
        process, conn = self.process, self.conn
        self.process = self.conn = None
        try:
            if process is not None and process.is_alive():
                process.kill()
                process.join(5)
            if conn is not None:
                conn.close()
        except (OSError, ValueError, AttributeError):
            pass

    def stop(self) -> None:
        process, conn = self.process, self.conn
        if process is not None and conn is not None and process.is_alive():
            try:
                conn.send(("stop",))
                process.join(5)
            except (OSError, BrokenPipeError, ValueError):
                pass
        self.kill()
        try:
            os.unlink(self.log_path)
        except OSError:
            pass


class InProcess:
    """An executor for systems declaring "in_process" (the NumPy reference): no process, same replies."""

    def __init__(self, system_id: str, *, device: str = "cpu"):
        self.system = load(system_id)
        self.adapter_id = system_id
        self.device = device
        self.hello: Hello | None = None
        self.stats = ExecStats()

    def start(self) -> Hello:
        system = self.system
        self.stats.starts += 1
        self.hello = (Hello(True, system.version(), system.environment(self.device)) if system.available()
                      else Hello(False, error=f"not installed ({system.install_hint})"))
        return self.hello

    def call(self, op: str, args: dict, x, w, b, dtype: str) -> Reply:
        """Run one call (a batch of one: see `call_many`)."""
        (reply,) = self.call_many([Call(op, args, x, w, b, dtype)])
        return reply

    def call_many(self, calls: Sequence[Call]) -> Generator[Reply, None, None]:
        """One reply per call, in order, each made when asked for (the worker's replies, in process)."""
        for c in calls:
            t0 = time.perf_counter()
            try:
                output = np.asarray(self.system.call(c.op, c.args, c.x, c.w, c.b, c.dtype, self.device), np.float64)
                reply = Reply("ok", output=output, seconds=time.perf_counter() - t0)
            except Exception as err:  # a failure is a verdict, not a crash
                reply = Reply("err", message=_short(err), seconds=time.perf_counter() - t0)
            self.stats.add_call(reply, None)
            yield reply

    def invoke(self, name: str, **kwargs) -> Reply:
        try:
            return Reply("ok", output=_invoke(self.system, name, kwargs, self.device))
        except Exception as err:
            return Reply("err", message=_short(err))

    def stop(self) -> None:
        pass

    def kill(self) -> None:
        pass


Executor = Worker | InProcess


def cache_env(system: System, cache: str | None) -> dict[str, str]:
    """The system's declared compilation-cache variables (`cache_env`), `{cache}` replaced by the folder;
    nothing without a folder."""
    declared = dict(system.cache_env)
    if not cache or not declared:
        return {}
    return {CACHE_ENV: cache, **{name: value.replace("{cache}", cache) for name, value in declared.items()}}


def executor_for(system_id: str, *, timeout: float = CALL_TIMEOUT, device: str = "cpu",
                 env: dict[str, str] | None = None) -> Executor:
    """In process where the system declares it safe, else a worker process."""
    if "in_process" in load(system_id).capabilities:
        return InProcess(system_id, device=device)
    return Worker(system_id, timeout=timeout, device=device, env=env)
