"""Digests of cases and suites: what a case means and holds, independent of its file's layout.

A case's digest (`case_digest`) covers the fields a verdict reads - id, framework, op, args, dtype,
tolerance, allow_nonfinite, the expected kind/shape/reason, and each tensor (its spec: kind, shape,
fill, arange start or random seed; or its float64 values) - but not title, notes, tags, source or the
file it is in.  It keys the result store (engine/keys.py) and, sorted with the messages of the invalid
cases, makes a suite's fingerprint: shards of one run, and runs to be merged, must share it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from convtx.harness.caseformat.case import Case
from convtx.harness.caseformat.casefile import Suite
from convtx.harness.core.tensors import TensorSpec


def digest(*parts: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, default=repr).encode())
        h.update(b"\x00")
    return h.hexdigest()


def _spec(spec: TensorSpec | None) -> Any:
    if spec is None:
        return None
    if spec.kind == "values":
        values = np.ascontiguousarray(np.asarray(spec.values, dtype=np.float64))
        return [spec.kind, list(spec.shape), hashlib.blake2b(values.tobytes(), digest_size=16).hexdigest()]
    return [spec.kind, list(spec.shape), repr(spec.scalar)]


def case_digest(case: Case) -> str:
    """The digest of everything in a case that a verdict can depend on."""
    tol = [case.tolerance.rtol, case.tolerance.atol] if case.tolerance is not None else None
    exp = case.expected
    return digest(case.id, case.framework, case.op, case.args, case.dtype, tol, case.allow_nonfinite,
                  [exp.kind, list(exp.shape) if exp.shape is not None else None, exp.reason],
                  [_spec(s) for s in (case.input, case.weight, case.bias, exp.tensor)])


def suite_fingerprint(suite: Suite) -> str:
    parts = sorted(case_digest(e.case) for e in suite.entries) + sorted(str(e.message) for e in suite.errors)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
