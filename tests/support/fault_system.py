"""A fault-injecting system, registered only by tests: it raises, hangs or kills its worker on cue.

It speaks the torch dialect and computes with the NumPy reference; the input's first element picks
the fault: 101 raises, 102 hangs, 103 calls os._exit(3), 104 segfaults; anything else is computed.
"""

from __future__ import annotations

import os
import time

import numpy as np

from convtx.adapters.contract import System, Variant

PATH = "support.fault_system:FaultySystem"


class FaultySystem(System):
    """Computes like the reference, except where the input's first element asks for a fault."""

    id = "faulty"
    dialect = "torch"
    install_hint = "(test system)"
    variants = {
        "fake-gpu": Variant("a device that exists only in the tests", device="fake"),
        "cuda": Variant("a CUDA device, which the tests never have", device="cuda"),
        "off-by-one": Variant("adds 1 to every output (a system that disagrees)", options=frozenset({"off-by-one"})),
    }

    def unavailable(self, device: str) -> str | None:
        return "no CUDA device here (the test system has none)" if device == "cuda" else None

    def version(self) -> str:
        return "0.0-test"

    def environment(self, device: str = "cpu") -> dict:
        return {"device": device, "pid": os.getpid()}

    def code(self, op, args, x_shape, w_shape, has_bias) -> str:
        return f"faulty({op}, {args})"

    def call(self, op, args, x, w, b, dtype, device="cpu"):
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
        from convtx.harness import semantics
        from convtx.harness.core import reference
        from convtx.harness.core.problem import Problem

        reading = semantics.read("torch", op, args, x.shape, w.shape, b is not None, None if b is None else b.shape)
        return reference.compute(Problem(reading.geometry, x, w, b)) + ("off-by-one" in self.options)
