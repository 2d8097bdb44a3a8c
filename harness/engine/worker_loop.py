"""The worker protocol: its data (`Hello`, `Call`, `Reply`) and the worker's side of it - what a worker
process does with each message after its hello (`serve`).

Messages from the parent (`workers.Worker`), each a tuple:
- ("batch", [("call", op, args, x, w, b, dtype), ...]): calls of the system's `call`, made in order;
  each call's reply is sent as soon as it is made, so the parent times out every call on its own and,
  if the worker dies, knows which call killed it (the ones after it were never started);
- ("invoke", name, keyword arguments): an optional, declared system API (only input_gradient exists);
- ("stop",): leave the loop (so does the parent closing its end).

Replies: ("ok", output, seconds, repeat seconds or None) or ("err", message, seconds) - one per call
(or invoke); `seconds` is the call itself.  With profiling (`CONVTX_PROFILE_CALLS=1` in the worker's
environment) every successful call is made a second time and that time is the fourth item: the first
minus the second is the compilation (or other first-time cost) of the shape.

Shared with the parent: `short` (an exception as one short line) and `narrow` (a float64 array of a
float32 call sent as float32: lossless, half the bytes).
"""

from __future__ import annotations

import re
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convtx.adapters.contract import System

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def short(err: BaseException) -> str:
    """An exception as one line: its type, and its message's first 4 lines (ANSI colours removed)."""
    text = _ANSI.sub("", str(err)).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) > 4:
        lines = lines[:4] + ["..."]
    text = " / ".join(lines)
    if len(text) > 600:
        text = text[:600] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def narrow(arr: Any, dtype: str) -> Any:
    """Send a float32 (or narrower) result as float32: lossless, and half the bytes of float64."""
    if dtype != "float64" and isinstance(arr, np.ndarray) and arr.dtype == np.float64:
        return arr.astype(np.float32)
    return arr


@dataclass
class Hello:
    """A worker's first message: can it run its system, which version, in which environment."""

    available: bool
    version: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0  # in the worker: instantiating the system (importing its framework) and the hello

    def __getstate__(self) -> dict[str, Any]:
        """Pickled with plain strings: a framework's str subclass (torch's TorchVersion) would make the
        parent import that framework to read the hello."""
        return {**self.__dict__, "version": _plain(self.version), "environment": _plain(self.environment)}


def _plain(value: Any) -> Any:
    """`value` with every str subclass in it (in dicts, lists, tuples) made a str."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_plain(v) for v in value)
    return value


@dataclass
class Reply:
    """What became of one call (or invoke): its output, or the message of its failure."""

    kind: str  # ok | err | timeout | died
    output: Any = None
    message: str = ""
    seconds: float = 0.0  # in the worker (or in process): the call itself
    repeat: float | None = None  # the same call made again (profiling: CONVTX_PROFILE_CALLS=1)


@dataclass(frozen=True)
class Call:
    """One call of a system's `call` (what `call_many` sends; tensors in the system's layouts)."""

    op: str
    args: dict
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None
    dtype: str

    def message(self) -> tuple:
        """The wire form: tensors as float32 unless the dtype is float64 (lossless: their values are
        already rounded to the dtype)."""
        x, w, b = (narrow(t, self.dtype) if t is not None else None for t in (self.x, self.w, self.b))
        return ("call", self.op, self.args, x, w, b, self.dtype)


GONE = ("timeout", "died")  # replies after which the worker is no more (the next call starts a new one)


def invoke(system: System, name: str, kwargs: dict, device: str) -> Any:
    """An optional, declared system API: only input_gradient (capability "gradient") exists."""
    if name == "input_gradient" and "gradient" in system.capabilities:
        return system.input_gradient(**kwargs, device=device)
    raise NotImplementedError(f"the {system.id} system declares no {name}()")


def serve(system: System, conn: Any, device: str, profile: bool) -> None:
    """The worker's loop, until ("stop",) or the parent's end closes."""
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg[0] == "stop":
            return
        if msg[0] == "batch":
            for call in msg[1]:
                conn.send(answer(system, call, device, profile))
        else:
            conn.send(answer(system, msg, device, profile))


def answer(system: System, msg: tuple, device: str, profile: bool) -> tuple:
    """The reply to one ("call", ...) or ("invoke", ...) message: a failure is a reply, never a crash."""
    t0 = time.perf_counter()
    try:
        if msg[0] == "invoke":
            return ("ok", invoke(system, msg[1], msg[2], device), time.perf_counter() - t0, None)
        _, op, args, x, w, b, dtype = msg
        output = narrow(system.call(op, args, x, w, b, dtype, device), dtype)
        seconds = time.perf_counter() - t0
        return ("ok", output, seconds, timed_again(system, msg, device) if profile else None)
    except BaseException as err:  # noqa: B036 - a framework's SystemExit is its verdict too
        traceback.print_exc()
        return ("err", short(err), time.perf_counter() - t0)


def timed_again(system: System, msg: tuple, device: str) -> float | None:
    """The same call made again (profiling): its time, or None if it failed this time."""
    _, op, args, x, w, b, dtype = msg
    t0 = time.perf_counter()
    try:
        system.call(op, args, x, w, b, dtype, device)
    except Exception:
        return None
    return time.perf_counter() - t0
