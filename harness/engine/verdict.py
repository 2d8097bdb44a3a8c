"""Verdicts: from a system's reply (an output, a refusal, an error) to a `Result`.

`problem_of(entry)` builds the canonical problem of a valid case; `conclude(...)` reads one reply:
an error in the system's declared refusal words is `unsupported`, any other error `error`;
`judge(...)` compares a canonical output with the case's expectation (in the case's own layout);
`invalid_results` turns case-file errors into `invalid` results.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

import numpy as np

from convtx.adapters.contract import System
from convtx.harness.caseformat.casefile import Entry, Suite
from convtx.harness.engine.compare import compare_shape, compare_values
from convtx.harness.core.problem import Problem
from convtx.harness.engine.results import OUTPUT_VALUES_LIMIT, Result

if TYPE_CHECKING:
    from convtx.harness.engine.plan import Task
    from convtx.harness.engine.workers import Reply


def problem_of(entry: Entry) -> Problem:
    reading = entry.understood  # a refused case has no problem
    x, w, b = entry.case.tensors()
    return Problem(reading.geometry, np.ascontiguousarray(reading.to_canonical_input(x)),
                   reading.to_canonical_weight(w), b, entry.case.dtype)


def expected_values(entry: Entry) -> np.ndarray | None:
    exp = entry.case.expected
    return exp.spec.materialize("float64") if exp.kind == "tensor" else None


def refusal_of(system: System, message: str) -> str | None:
    """The system's declared refusal signature that an error message matches, if any."""
    return next((p for p in system.refusals if re.search(p, message)), None)


def _called(entry: Entry, task: "Task", status: str, note: str, shape: list[int] | None = None) -> Result:
    """A verdict on `task`'s call that carries no output: the call and its weight conversion, a note."""
    return Result(entry.case.id, task.system, status, shape=shape, note=note, call=task.code,
                  weight_conversion=task.weight_conversion)


def conclude(entry: Entry, task: "Task", reply: "Reply", system: System) -> Result:
    """The verdict for one reply of a system to a planned call."""
    case, fw = entry.case, task.system
    if task.mode == "refusal":
        if reply.kind == "ok":
            shape = list(np.shape(reply.output))
            return _called(entry, task, "mismatch", f"the case declares this call invalid "
                           f"({case.expected.reason}), but {fw} accepted it and returned shape {shape}", shape)
        if reply.kind == "err":
            return _called(entry, task, "pass", f"refused as the case declares: {reply.message}")
    if reply.kind == "timeout":
        return _called(entry, task, "timeout", reply.message)
    if reply.kind == "err" and refusal_of(system, reply.message):
        return _called(entry, task, "unsupported", f"{fw} has no kernel for this call in this build/device "
                       f"(its own refusal): {reply.message} [{task.code}]")
    if reply.kind in ("err", "died") or task.said is None:
        return _called(entry, task, "error", f"{reply.message} [{task.code}]")
    canonical = task.said.to_canonical_output(reply.output)
    return judge(entry, fw, canonical, task.code, task.weight_conversion)


def judge(entry: Entry, framework: str, output: np.ndarray, code: str, weight_conversion: str) -> Result:
    """The verdict for one canonical output of one system on one case."""
    case, reading = entry.case, entry.understood
    out = reading.from_canonical_output(output)
    expected_shape = reading.output_shape()
    values = out.tolist() if out.size <= OUTPUT_VALUES_LIMIT else None
    result = Result(case.id, framework, "pass", list(out.shape), list(expected_shape), None,
                    code, "", weight_conversion, values)
    call_text = code.split("  #")[0]
    if case.expected.kind == "shape":
        bad = compare_shape(out.shape, expected_shape, call_text)
        result.status, result.note = (bad.status, bad.message) if bad else ("pass", "shape only "
                                                                             "(the case's values are random)")
    else:
        cmp = compare_values(out, case.expected.spec.materialize("float64"), case.tol, call_text)
        result.status, result.max_abs_error, result.note = cmp.status, cmp.max_abs_error, cmp.message
    if result.status != "pass":
        result.diagnosis = diagnosis_of(entry, framework, output)
    return result


def diagnosis_of(entry: Entry, framework: str, output: np.ndarray) -> str:
    """Why a canonical output differs from the case's expectation (never raises)."""
    from convtx.harness.analysis.diagnose import diagnose
    try:
        problem = problem_of(entry)
        exp = entry.case.expected
        if exp.kind == "tensor":
            expected = entry.understood.to_canonical_output(exp.spec.materialize("float64"))
        else:
            from convtx.harness.core.reference import compute
            expected = compute(problem)
        found = diagnose(problem, output, expected, framework, entry.case.dtype, entry.case.tol)
        if found.details.get("matches_reference"):
            return _expected_differs(problem, output, expected, framework, entry.case.dtype, found.sentence)
        return found.sentence
    except Exception as err:  # a diagnosis must never cost a verdict
        return f"(no diagnosis: {type(err).__name__}: {err})"


def _expected_differs(problem, reference, expected, framework: str, dtype: str, fallback: str) -> str:
    """The framework agrees with the reference: say how the case's expected tensor differs instead."""
    from convtx.harness.analysis.diagnose import diagnose
    d = diagnose(problem, expected, reference, "expected", dtype)
    head = f"{framework} agrees with the NumPy reference; the case's expected tensor does not: "
    if d.kind in ("shifted", "crop"):
        return (head + f"it is the full output cropped {d.details['crops']} instead of {d.details['expected_crops']}"
                + (" with the kernel spatially flipped" if d.details.get("flipped") else "")
                + " - the expected values were computed with another framework's padding convention?")
    if d.kind == "kernel_flipped":
        return head + "it was computed with the kernel spatially flipped (a jax-style forward-convolution kernel?)"
    if d.kind == "channels_swapped":
        return head + "it was computed with the weight's input and output channels swapped"
    return fallback


def invalid_results(suite: Suite, frameworks: Iterable[str]) -> list[Result]:
    out: list[Result] = []
    for err in suite.errors:
        name = err.case_id or (err.mark.path if err.mark else "<input>")
        out.extend(Result(name, fw, "invalid", note=str(err)) for fw in frameworks)
    return out
