"""Executors: where a system's calls run.  `Worker`: one long-lived process per system, restarted
after a crash or a hang; `InProcess`: in convtx's own process, for systems that declare it safe.

A worker instantiates its system (and so imports its framework) in a fresh `spawn`ed process with
the system's environment (KERAS_BACKEND, JAX_ENABLE_X64, ...), says hello (available? version,
environment), then executes calls until told to stop.  The parent side (`Worker`) enforces a
per-call timeout, turns a dead or hung worker into a `died`/`timeout` reply and starts a new one,
so a segfault, `os._exit` or infinite loop in one framework never takes the run down.  Worker
stdout/stderr (framework logs) go to a log file whose tail is quoted when a worker dies.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import tempfile
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import numpy as np

from convtx.adapters import instantiate, load, path_of
from convtx.adapters.contract import System

CALL_TIMEOUT = 120.0
START_TIMEOUT = 300.0


@dataclass
class Hello:
    available: bool
    version: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Reply:
    kind: str  # ok | err | timeout | died
    output: Any = None
    message: str = ""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _short(err: BaseException) -> str:
    text = _ANSI.sub("", str(err)).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) > 4:
        lines = lines[:4] + ["..."]
    text = " / ".join(lines)
    if len(text) > 600:
        text = text[:600] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _narrow(arr, dtype: str):
    """Send a float32 (or narrower) result as float32: lossless, and half the bytes of float64."""
    if dtype != "float64" and isinstance(arr, np.ndarray) and arr.dtype == np.float64:
        return arr.astype(np.float32)
    return arr


def _invoke(system: System, name: str, kwargs: dict, device: str):
    """An optional, declared system API: only input_gradient (capability "gradient") exists."""
    if name == "input_gradient" and "gradient" in system.capabilities:
        return system.input_gradient(**kwargs, device=device)
    raise NotImplementedError(f"the {system.id} system declares no {name}()")


def worker_main(system_path: str, conn, env: dict[str, str], log_path: str, device: str) -> None:
    """Entry point of a worker process (Ctrl-C is the parent's to handle: the worker ignores SIGINT)."""
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
        conn.send(("hello", Hello(True, system.version(), system.environment(device))))
    except BaseException as err:  # a broken install is a verdict, not a crash
        traceback.print_exc()
        conn.send(("hello", Hello(False, error=f"cannot load: {_short(err)}")))
        return
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg[0] == "stop":
            return
        try:
            if msg[0] == "invoke":  # ("invoke", name, keyword arguments): an optional, declared system API
                conn.send(("ok", _invoke(system, msg[1], msg[2], device)))
                continue
            _, op, args, x, w, b, dtype = msg
            conn.send(("ok", _narrow(system.call(op, args, x, w, b, dtype, device), dtype)))
        except BaseException as err:
            traceback.print_exc()
            conn.send(("err", _short(err)))


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
        self.process: BaseProcess | None = None
        self.conn: Connection | None = None
        self.hello: Hello | None = None
        fd, self.log_path = tempfile.mkstemp(prefix=f"convtx-{adapter_id}-", suffix=".log")
        os.close(fd)

    def _env(self) -> dict[str, str]:
        return {**load(self.adapter_id).env, **self.extra_env}  # system modules import no framework

    def start(self) -> Hello:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self.process = process = ctx.Process(target=worker_main, daemon=True, name=f"convtx-{self.adapter_id}",
                                             args=(self.system_path, child, self._env(), self.log_path, self.device))
        process.start()
        child.close()
        self.conn = parent
        if not parent.poll(self.start_timeout):
            self.kill()
            self.hello = Hello(False, error=f"worker did not start within {self.start_timeout:g} s")
        else:
            try:
                self.hello = parent.recv()[1]
            except (EOFError, OSError):
                self.hello = Hello(False, error=f"worker died while starting{self._log_tail()}")
                self.kill()
        return self.hello

    def call(self, op: str, args: dict, x, w, b, dtype: str) -> Reply:
        """Run one call; tensors travel as float32 unless the dtype is float64 (lossless: their values
        are already rounded to the dtype), and the output comes back as float64."""
        x, w, b = (_narrow(t, dtype) if t is not None else None for t in (x, w, b))
        reply = self._request(("call", op, args, x, w, b, dtype))
        if reply.kind == "ok" and isinstance(reply.output, np.ndarray):
            reply.output = reply.output.astype(np.float64)
        return reply

    def invoke(self, name: str, **kwargs) -> Reply:
        """Call an optional adapter function (e.g. input_gradient) in the worker."""
        return self._request(("invoke", name, kwargs))

    def _request(self, message: tuple) -> Reply:
        if self.process is None or not self.process.is_alive():
            hello = self.start()
            if not hello.available:
                return Reply("died", message=hello.error or "worker unavailable")
        conn = self.conn
        if conn is None:  # killed (from another thread) since it started
            return self._died()
        try:
            conn.send(message)
            if not conn.poll(self.timeout):
                self.kill()
                return Reply("timeout", message=f"no answer within {self.timeout:g} s; the worker was "
                                                "killed and will be restarted")
            kind, payload = conn.recv()
        except (EOFError, OSError, BrokenPipeError, AttributeError):
            return self._died()
        return Reply("ok", output=payload) if kind == "ok" else Reply("err", message=payload)

    def _died(self) -> Reply:
        """The reply for a worker that is gone (its exit code and last log line); it restarts on the next call."""
        process = self.process
        if process is not None:
            process.join(5)
        code = process.exitcode if process is not None else None
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

    def start(self) -> Hello:
        system = self.system
        self.hello = (Hello(True, system.version(), system.environment(self.device)) if system.available()
                      else Hello(False, error=f"not installed ({system.install_hint})"))
        return self.hello

    def call(self, op: str, args: dict, x, w, b, dtype: str) -> Reply:
        try:
            return Reply("ok", output=np.asarray(self.system.call(op, args, x, w, b, dtype, self.device), np.float64))
        except Exception as err:  # a failure is a verdict, not a crash
            return Reply("err", message=_short(err))

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


def executor_for(system_id: str, *, timeout: float = CALL_TIMEOUT, device: str = "cpu",
                 env: dict[str, str] | None = None) -> Executor:
    """In process where the system declares it safe, else a worker process."""
    if "in_process" in load(system_id).capabilities:
        return InProcess(system_id, device=device)
    return Worker(system_id, timeout=timeout, device=device, env=env)
