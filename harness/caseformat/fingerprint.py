"""Fingerprints of cases and suites: what a case means and holds, independent of its file's layout.

A case's fingerprint covers its id, framework, op, arguments, dtype, tolerance and tensors (the
materialized values, so `fill: 1` and the same values written out agree); a suite's is the sorted
fingerprints of its valid cases plus the messages of its invalid ones.  Shards of one run, and runs
to be merged, must share the suite's fingerprint.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from convtx.harness.caseformat.case import Case
from convtx.harness.caseformat.casefile import Suite


def case_fingerprint(case: Case) -> str:
    h = hashlib.sha256()
    tol = case.tol
    head = {"id": case.id, "framework": case.framework, "op": case.op, "args": case.args, "dtype": case.dtype,
            "tolerance": [tol.rtol, tol.atol], "expected": case.expected.kind,
            "reason": case.expected.reason, "bias": case.bias is not None}
    h.update(json.dumps(head, sort_keys=True, default=str).encode())
    for tensor in case.tensors():
        if tensor is not None:
            h.update(np.ascontiguousarray(tensor, dtype=np.float64).tobytes())
            h.update(str(tensor.shape).encode())
    if case.expected.kind == "tensor":
        h.update(np.ascontiguousarray(case.expected.spec.materialize("float64")).tobytes())
    elif case.expected.kind == "shape":
        h.update(str(case.expected.output_shape()).encode())
    return h.hexdigest()[:16]


def suite_fingerprint(suite: Suite) -> str:
    parts = sorted(case_fingerprint(e.case) for e in suite.entries) + sorted(str(e.message) for e in suite.errors)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
