"""Planning one case on one system: which native call, with which tensors, or why there is none.

- A case written in the system's own dialect runs *literally*: its own arguments and tensors
  (this checks the semantics module's reading of them against the real framework).
- Any other case is *translated*: `say` finds the system's arguments that mean the canonical
  problem (the dialect's `express`, else the system's declared `fallback`); tensors are converted
  to the system's layouts.  A system of the canonical dialect (the NumPy reference) takes the
  canonical problem as it is.  Where nothing says the call, the plan is `NoCall(not_expressible)`.
- A case declared invalid runs literally on its own framework, which must refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from convtx.adapters.contract import CANONICAL, Said, SaidAsIs, System
from convtx.harness import semantics
from convtx.harness.caseformat.casefile import Entry
from convtx.harness.core.problem import Geometry, canonical_args
from convtx.harness.engine.verdict import problem_of


@dataclass(frozen=True)
class Task:
    """A call ready to send to a system, and how to read its output back."""

    case_id: str
    system: str
    mode: str  # literal | translated | refusal
    op: str
    args: Mapping
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None
    dtype: str
    said: Said | None  # None for a refusal (there is no output to read back)
    code: str
    weight_conversion: str


@dataclass(frozen=True)
class NoCall:
    """Why a case makes no call on a system: its verdict, decided before any call."""

    status: str  # not_expressible | pass (the reference refusing a call declared invalid)
    note: str
    code: str | None = None


class CanonicalCall(SaidAsIs):
    """The canonical problem itself as a call (for systems of the canonical dialect)."""

    def __init__(self, geometry: Geometry):
        super().__init__(geometry.op, canonical_args(geometry))

    def weight_conversion(self) -> str:
        return "none (canonical layout)"


def say(system: System, geometry: Geometry) -> Said | str:
    """The system's way of saying a canonical call, or the reason it has none."""
    if system.dialect == CANONICAL:
        return CanonicalCall(geometry)
    reading = semantics.express(system.dialect, geometry)
    if not isinstance(reading, semantics.NotExpressible):
        return reading
    other = system.fallback(geometry)
    return other if other is not None else reading.reason


def plan(entry: Entry, system: System) -> Task | NoCall:
    case = entry.case
    own = case.framework == system.dialect
    if entry.refusal is not None:
        if system.dialect == CANONICAL:
            return NoCall("pass", f"refused as the case declares ({case.expected.reason}): {entry.refusal}")
        if not own:
            return NoCall("not_expressible", f"the case's call is invalid in {case.framework} ({entry.refusal}); "
                                             "there is nothing to translate")
        return _literal(entry, system, "refusal")
    task = _literal(entry, system, "literal") if own else _translated(entry, system)
    if isinstance(task, NoCall) or entry.reading is None:
        return task
    limit = system.api_limit(task.op, entry.reading.geometry, task.dtype, dict(task.args))
    return NoCall("not_expressible", limit, task.code) if limit else task


def _literal(entry: Entry, system: System, mode: str) -> Task:
    case = entry.case
    x, w, b = case.tensors()
    args = dict(case.args)
    said = entry.reading if mode == "literal" else None
    return Task(case.id, system.id, mode, case.op, args, x, w, b, case.dtype, said,
                system.code(case.op, args, x.shape, w.shape, b is not None), "as written in the case")


def _translated(entry: Entry, system: System) -> Task | NoCall:
    said = say(system, entry.understood.geometry)
    if isinstance(said, str):
        return NoCall("not_expressible", said)
    problem = problem_of(entry)
    x, w = said.from_canonical_input(problem.x), said.from_canonical_weight(problem.w)
    args = dict(said.call_args)
    return Task(entry.case.id, system.id, "translated", said.op, args, x, w, problem.b, problem.dtype, said,
                system.code(said.op, args, x.shape, w.shape, problem.b is not None), said.weight_conversion())
