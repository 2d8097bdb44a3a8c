"""Planning one case on one framework: which native call, with which tensors, or why none.

- A case written in the adapter's own dialect runs *literally*: its own arguments and tensors
  (this checks the semantics module's reading of them against the real framework).
- Any other case is *translated*: `semantics.express` finds the framework's arguments that mean
  the canonical problem; tensors are converted to the framework's layouts.  Where the dialect has
  no such arguments, the adapter's `fallback` may (jax: grouped transposed convolution), else the
  verdict is `not_expressible` with the reason.
- A case declared invalid runs literally on its own framework, which must refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from convtx.adapters import load
from convtx.harness import semantics
from convtx.harness.caseformat.casefile import Entry
from convtx.harness.engine.results import Result
from convtx.harness.engine.verdict import problem_of


@dataclass
class Task:
    case_id: str
    framework: str
    mode: str  # literal | translated | refusal
    op: str
    args: dict
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None
    dtype: str
    reading: Any  # has to_canonical_output(); None for a refusal
    code: str
    weight_conversion: str


def plan_task(entry: Entry, adapter_id: str) -> Task | Result:
    adapter = load(adapter_id)
    case = entry.case
    own = case.framework == adapter.DIALECT
    if entry.refusal is not None:
        if not own:
            return Result(case.id, adapter_id, "not_expressible",
                          note=f"the case's call is invalid in {case.framework} ({entry.refusal}); "
                               "there is nothing to translate")
        return _literal(entry, adapter_id, adapter, "refusal")
    task = _literal(entry, adapter_id, adapter, "literal") if own else _translated(entry, adapter_id, adapter)
    limit = getattr(adapter, "api_limit", None)
    reason = limit(task.op, entry.reading.geometry, task.dtype, task.args) if limit and isinstance(task, Task) else None
    if reason:
        return Result(case.id, adapter_id, "not_expressible", note=reason, call=task.code)
    return task


def _literal(entry: Entry, adapter_id: str, adapter, mode: str) -> Task:
    case = entry.case
    x, w, b = case.tensors()
    args = dict(case.args)
    return Task(case.id, adapter_id, mode, case.op, args, x, w, b, case.dtype, entry.reading,
                adapter.code(case.op, args, x.shape, w.shape, b is not None), "as written in the case")


def _translated(entry: Entry, adapter_id: str, adapter) -> Task | Result:
    g = entry.reading.geometry
    reading = semantics.express(adapter.DIALECT, g)
    op = g.op
    if isinstance(reading, semantics.NotExpressibleHere):
        fallback = getattr(adapter, "fallback", None)
        other = fallback(g) if fallback else None
        if other is None:
            return Result(entry.case.id, adapter_id, "not_expressible", note=reading.reason)
        reading, op, args = other, other.op, dict(other.args)
    else:
        args = dict(reading.given)
    problem = problem_of(entry)
    x, w = reading.from_canonical_input(problem.x), reading.from_canonical_weight(problem.w)
    b = problem.b
    return Task(entry.case.id, adapter_id, "translated", op, args, x, w, b, problem.dtype, reading,
                adapter.code(op, args, x.shape, w.shape, b is not None), reading.weight_conversion())
