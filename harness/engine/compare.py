"""Comparing an output with a case's expectation, in the style of torch.testing.assert_close.

Messages carry the values and the call, e.g.
`out.shape=(1, 1, 8, 8), but should be (1, 1, 6, 6) [F.conv_transpose2d(x, w, stride=4)]`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convtx.harness.caseformat.case import Tolerance


@dataclass(frozen=True)
class Comparison:
    status: str  # pass | mismatch | shape_mismatch
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    mismatched: int = 0
    total: int = 0
    message: str = ""


def compare_shape(actual: tuple[int, ...], expected: tuple[int, ...], call: str) -> Comparison | None:
    if tuple(actual) != tuple(expected):
        return Comparison("shape_mismatch", message=f"out.shape={tuple(actual)}, but should be "
                                                    f"{tuple(expected)} [{call}]")
    return None


def compare_values(actual: np.ndarray, expected: np.ndarray, tol: Tolerance, call: str) -> Comparison:
    """Element-wise |a - e| <= atol + rtol*|e|; NaN equals NaN (nonfinite cases)."""
    bad_shape = compare_shape(actual.shape, expected.shape, call)
    if bad_shape:
        return bad_shape
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    both_nan = np.isnan(a) & np.isnan(e)
    same_inf = np.isinf(a) & (a == e)
    with np.errstate(invalid="ignore"):
        diff = np.abs(a - e)
        ok = (diff <= tol.atol + tol.rtol * np.abs(e)) | both_nan | same_inf
        rel = diff / np.where(e == 0, np.inf, np.abs(e))
    diff = np.where(both_nan | same_inf, 0.0, diff)
    rel = np.where(both_nan | same_inf, 0.0, rel)
    total = int(a.size)
    max_abs = float(np.nanmax(diff)) if total else 0.0
    max_rel = float(np.nanmax(rel)) if total else 0.0
    bad = int(total - np.count_nonzero(ok))
    if bad == 0:
        return Comparison("pass", max_abs, max_rel, 0, total)
    worst = tuple(int(i) for i in np.unravel_index(int(np.nanargmax(np.where(ok, -1.0, diff))), a.shape))
    message = (f"Mismatched elements: {bad} / {total} ({100.0 * bad / total:.1f}%); "
               f"greatest absolute difference: {max_abs:.6g} at index {worst} "
               f"(got {a[worst]:.6g}, expected {e[worst]:.6g}; up to {tol.atol:g} + {tol.rtol:g}*|expected| "
               f"allowed) [{call}]")
    return Comparison("mismatch", max_abs, max_rel, bad, total, message)
