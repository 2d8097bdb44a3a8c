"""A fault-injecting adapter, registered only by tests: it raises, hangs or kills its worker on cue.

It speaks the torch dialect and computes with the NumPy reference; the input's first element picks
the fault: 101 raises, 102 hangs, 103 calls os._exit(3), 104 segfaults; anything else is computed.
"""

from __future__ import annotations

import os
import time

import numpy as np

ID = "faulty"
DIALECT = "torch"
INSTALL_HINT = "(test adapter)"
ENV: dict[str, str] = {}
REFUSALS: tuple[str, ...] = ()


def available() -> bool:
    return True


def version() -> str:
    return "0.0-test"


def environment(device: str = "cpu") -> dict:
    return {"device": device, "pid": os.getpid()}


def code(op, args, x_shape, w_shape, has_bias) -> str:
    return f"faulty({op}, {args})"


def call(op, args, x, w, b, dtype, device="cpu"):
    cue = float(np.asarray(x).ravel()[0])
    if cue == 101:
        raise RuntimeError("injected failure")
    if cue == 102:
        time.sleep(3600)
    if cue == 103:
        os._exit(3)
    if cue == 104:
        import ctypes
        ctypes.string_at(0)
    from convtx.adapters import numpy_ref
    from convtx.harness import semantics
    from convtx.harness.core.problem import Problem

    reading = semantics.read("torch", op, args, x.shape, w.shape, b is not None, None if b is None else b.shape)
    return numpy_ref.compute(Problem(reading.geometry, x, w, b))
