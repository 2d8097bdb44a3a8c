"""Verdicts: from a canonical output (or a refusal) to a `Result`.

`problem_of(entry)` builds the canonical problem of a valid case; `judge(...)` compares an
adapter's canonical output with the case's expectation (in the case's own layout); `run_entry`
runs the in-process reference; `invalid_results` turns case-file errors into `invalid` results.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from convtx.adapters.base import NativeCall, NotExpressible
from convtx.harness.caseformat.casefile import Entry, Suite
from convtx.harness.engine.compare import compare_shape, compare_values
from convtx.harness.core.errors import ConvtxError
from convtx.harness.core.problem import Problem
from convtx.harness.engine.results import OUTPUT_VALUES_LIMIT, Result


def problem_of(entry: Entry) -> Problem:
    reading = entry.reading
    assert reading is not None, "a refused case has no problem"
    x, w, b = entry.case.tensors()
    return Problem(reading.geometry, np.ascontiguousarray(reading.to_canonical_input(x)),
                   reading.to_canonical_weight(w), b, entry.case.dtype)


def expected_values(entry: Entry) -> np.ndarray | None:
    exp = entry.case.expected
    return exp.tensor.materialize("float64") if exp.kind == "tensor" else None


def judge(entry: Entry, framework: str, output: np.ndarray, call: NativeCall) -> Result:
    """The verdict for one canonical output of one adapter on one case."""
    case, reading = entry.case, entry.reading
    out = reading.from_canonical_output(output)
    expected_shape = reading.output_shape()
    values = out.tolist() if out.size <= OUTPUT_VALUES_LIMIT else None
    result = Result(case.id, framework, "pass", list(out.shape), list(expected_shape), None,
                    call.code, "", call.weight_conversion, values)
    call_text = call.code.split("  #")[0]
    if case.expected.kind == "shape":
        bad = compare_shape(out.shape, expected_shape, call_text)
        result.status, result.note = (bad.status, bad.message) if bad else ("pass", "shape only "
                                                                             "(the case's values are random)")
    else:
        cmp = compare_values(out, expected_values(entry), case.tol, call_text)
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
            expected = entry.reading.to_canonical_output(exp.tensor.materialize("float64"))
        else:
            from convtx.adapters import numpy_ref
            expected = numpy_ref.compute(problem)
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


def refused(entry: Entry, framework: str) -> Result:
    """The reference's verdict on a case declared invalid: it must be refused, and it was."""
    err = entry.refusal
    return Result(entry.case.id, framework, "pass", None, None, None, None,
                  f"refused as the case declares ({entry.case.expected.reason}): {err}")


def run_entry(entry: Entry, framework: str, adapter) -> Result:
    """Translate and run one case on one (in-process) adapter."""
    if entry.refusal is not None:
        return refused(entry, framework)
    try:
        problem = problem_of(entry)
        call = adapter.translate(problem.geometry, problem.dtype)
        if isinstance(call, NotExpressible):
            return Result(entry.case.id, framework, "not_expressible", note=call.reason)
        return judge(entry, framework, adapter.run(call, problem), call)
    except ConvtxError as err:
        return Result(entry.case.id, framework, "error", note=str(err))
    except Exception as err:  # an adapter bug or framework failure is a verdict, not a crash
        return Result(entry.case.id, framework, "error", note=f"{type(err).__name__}: {err}")


def invalid_results(suite: Suite, frameworks: Iterable[str]) -> list[Result]:
    out = []
    for err in suite.errors:
        name = err.case_id or (err.mark.path if err.mark else "<input>")
        out.extend(Result(name, fw, "invalid", note=str(err)) for fw in frameworks)
    return out
