"""Why a framework's output differs from the expected one, as one sentence a user can act on.

This module owns the *diagnosis* of a failed verdict (not the verdict itself: that is compare.py).
`diagnose(problem, actual, expected, framework)` tests hypotheses, in order, against the NumPy
reference and returns the first that reproduces `actual` (canonical layout, float64):
precision (rounding only) -> kernel spatially flipped -> input/output channels swapped ->
another crop (conv: other pads), with or without the flip ("shifted" when the size is the same,
"crop" when not) -> group order reversed -> wrong size -> unexplained.

Every hypothesis is a *window* on one canvas computed once per weight variant: for conv_transpose
the full output of length L = (i-1)*s + d*(k-1) + 1, where crop (lo, hi) starts at lo; for conv a
stride-1 correlation of the input padded with a margin, where pads (lo, hi) start at margin - lo
and step by s.  A window reaching outside the canvas reads zeros (zero extension).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np

from convtx.harness.core import reference
from convtx.harness.caseformat.case import DEFAULT_TOLERANCE, Tolerance
from convtx.harness.engine.compare import compare_values
from convtx.harness.core.problem import Axis, Geometry, Problem, output_length
from convtx.harness.core.tensors import machine_eps
from convtx.harness import semantics
from convtx.harness.semantics.common import Dialect

KINDS = ("kernel_flipped", "channels_swapped", "shifted", "crop", "size", "group_order", "precision",
         "unexplained")
SEARCH_LIMIT = 2_000_000  # above this many elements (actual or canvas) only precision/size/unexplained run
WORK_LIMIT = 50_000_000  # elements compared, at most, by the crop search
TIGHT_CAP, LOOSE_CAP = 0.005, 0.02  # relative caps, so float16 with many terms still discriminates


@dataclass(frozen=True)
class Diagnosis:
    kind: str  # one of KINDS
    sentence: str  # one sentence a user can act on
    details: dict  # the numbers backing it


@dataclass(frozen=True)
class _Canvas:
    data: np.ndarray  # (N, C_out, *canvas), no bias
    origin: tuple[int, ...]  # window start for lo = 0
    sign: int  # window start = origin + sign * lo
    step: tuple[int, ...]


def diagnose(problem: Problem, actual, expected, framework: str, dtype: str = "float32",
             tol: Tolerance | None = None) -> Diagnosis:
    """The first hypothesis explaining `actual`; `tol` only counts the "Mismatched elements"."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    tight, loose = _tolerances(problem.geometry, dtype, a, e)
    stats = _stats(a, e, tol or Tolerance(*DEFAULT_TOLERANCE[dtype]))
    if a.shape == e.shape and _close(a, e, loose):
        return _precision(framework, dtype, stats, loose)
    g = problem.geometry
    searched = 0 < a.size <= SEARCH_LIMIT and g.batch * g.out_channels * math.prod(_canvas_size(g)) <= SEARCH_LIMIT
    if searched:
        try:
            found = _search(problem, a, framework, tight, stats)
        except Exception:  # a diagnosis must never turn a verdict into a crash
            found = None
        if found is not None:
            return found
    if a.shape != e.shape:
        return _size(problem.geometry, a.shape, e.shape, framework)
    return _unexplained(framework, stats, searched)


def _scale(*arrays: np.ndarray) -> float:
    for arr in arrays:
        finite = np.abs(arr[np.isfinite(arr)])
        if finite.size and finite.max() > 0:
            return float(finite.max())
    return 1.0


def _tolerances(g: Geometry, dtype: str, a: np.ndarray, e: np.ndarray):
    """(rtol, atol) pairs: tight (a hypothesis holds) and loose (rounding only), from the number of terms
    per output element (an upper bound: C_in/groups * prod(k), +1 for the bias)."""
    terms = (g.in_channels // g.groups) * math.prod(g.kernel) + int(g.has_bias)
    base = machine_eps(dtype) * math.sqrt(max(terms, 1))
    scale = _scale(e, a)
    tight, loose = min(8 * base, TIGHT_CAP), min(64 * base, LOOSE_CAP)
    return (tight, tight * scale), (loose, loose * scale)


def _close(a: np.ndarray, b: np.ndarray, tol) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol[0], atol=tol[1], equal_nan=True))


def _stats(a: np.ndarray, e: np.ndarray, tol: Tolerance) -> dict:
    if a.shape != e.shape:
        return {}
    c = compare_values(a, e, tol, "")
    pct = 100.0 * c.mismatched / c.total if c.total else 0.0
    return {"max_abs": c.max_abs_error or 0.0, "max_rel": c.max_rel_error or 0.0, "max_abs_expected": _scale(e),
            "mismatched": c.mismatched, "total": c.total, "nonfinite": int(np.sum(~np.isfinite(a) & np.isfinite(e))),
            "mismatched_line": f"Mismatched elements: {c.mismatched} / {c.total} ({pct:.1f}%)"}


def _canvas_size(g: Geometry) -> tuple[int, ...]:
    if g.op == "conv_transpose":
        return g.full_size
    return tuple(max(i + a.lo + a.hi + 2 * (a.stride + 2) - a.dilation * (k - 1), 0)
                 for i, k, a in zip(g.in_size, g.kernel, g.axes))


def _canvas(problem: Problem, w: np.ndarray) -> _Canvas:
    g = problem.geometry
    if g.op == "conv_transpose":
        return _Canvas(reference.full_conv_transpose(problem.x, w, g), (0,) * g.ndim, 1, (1,) * g.ndim)
    axes = tuple(Axis(1, a.dilation, a.lo + a.stride + 2, a.hi + a.stride + 2) for a in g.axes)  # the margins
    data = reference.conv(problem.x, w, None, replace(g, axes=axes))
    return _Canvas(data, tuple(a.lo for a in axes), -1, tuple(a.stride for a in g.axes))


def _window(data: np.ndarray, starts, steps, lengths) -> np.ndarray:
    """data[..., start + step*o] for o < length per spatial axis; zeros outside the canvas."""
    out = np.zeros((*data.shape[:2], *lengths))
    src, dst = [], []
    for size, st, sp, n in zip(data.shape[2:], starts, steps, lengths):
        first = (-st + sp - 1) // sp if st < 0 else 0
        last = min(n, (size - 1 - st) // sp + 1) if st <= size - 1 else 0
        if last <= first:
            return out
        src.append(slice(st + first * sp, st + (last - 1) * sp + 1, sp))
        dst.append(slice(first, last))
    out[(slice(None), slice(None)) + tuple(dst)] = data[(slice(None), slice(None)) + tuple(src)]
    return out


def _lengths(g: Geometry, crops) -> list[int]:
    return [max(output_length(g.op, i, k, replace(a, lo=lo, hi=hi)), 0)
            for i, k, a, (lo, hi) in zip(g.in_size, g.kernel, g.axes, crops)]


def _render(problem: Problem, canvas: _Canvas, crops) -> np.ndarray:
    starts = [o + canvas.sign * lo for o, (lo, _) in zip(canvas.origin, crops)]
    out = _window(canvas.data, starts, canvas.step, _lengths(problem.geometry, crops))
    if problem.b is not None:
        out += problem.b.reshape(1, -1, *([1] * problem.geometry.ndim))
    return out


def _search(problem: Problem, a: np.ndarray, fw: str, tol, stats: dict) -> Diagnosis | None:
    g, w = problem.geometry, problem.w
    base = _canvas(problem, w)
    if _close(a, _render(problem, base, g.crops), tol):
        return _matches_reference(fw, stats)
    flipped_w = np.flip(w, axis=tuple(range(2, w.ndim)))
    flipped = _canvas(problem, flipped_w) if not np.array_equal(flipped_w, w) else None
    if flipped is not None and _close(a, _render(problem, flipped, g.crops), tol):
        return Diagnosis("kernel_flipped", f"{fw} output equals the expected one with the kernel spatially flipped: "
                         f"{_flip_fix(fw, g.op)}", {"flipped_axes": list(range(g.ndim))})
    swapped = w.swapaxes(0, 1)
    if (g.groups == 1 and g.in_channels == g.out_channels and not np.array_equal(swapped, w)
            and _close(a, _render(problem, _canvas(problem, swapped), g.crops), tol)):
        return Diagnosis("channels_swapped", f"{fw} output equals the expected one with the weight's input and "
                         "output channels swapped: transpose the weight's first two axes", {"swapped_axes": [0, 1]})
    for flip, canvas in ((False, base), (True, flipped)):
        crops = _crop_search(problem, canvas, a, tol) if canvas is not None else None
        if crops is not None:
            return _other_crop(fw, g, crops, flip)
    return _group_order(problem, base, a, fw, tol) if g.groups > 1 else None


def _axis_candidates(op: str, i: int, k: int, axis: Axis, n: int) -> list[tuple[int, int]]:
    """(lo', hi') near (lo, hi) giving output length n, one per lo' (for conv_transpose lo' + hi' = L - n)."""
    s, found = axis.stride, dict[int, int]()
    for lo in range(axis.lo - s - 2, axis.lo + s + 3):
        for hi in range(axis.hi - s - 2, axis.hi + s + 3):
            if output_length(op, i, k, replace(axis, lo=lo, hi=hi)) == n:
                if lo not in found or abs(hi - axis.hi) < abs(found[lo] - axis.hi):
                    found[lo] = hi
    return sorted(found.items(), key=lambda p: (abs(p[0] - axis.lo), p[0]))


def _crop_search(problem: Problem, canvas: _Canvas, a: np.ndarray, tol):
    g = problem.geometry
    if a.ndim != 2 + g.ndim or a.shape[:2] != (g.batch, g.out_channels):
        return None
    per_axis = [_axis_candidates(g.op, i, k, ax, n) for i, k, ax, n in zip(g.in_size, g.kernel, g.axes, a.shape[2:])]
    combos = sorted(itertools.product(*per_axis), key=lambda c: sum(abs(lo - ax.lo) for (lo, _), ax in zip(c, g.axes)))
    for crops in combos[:max(1, WORK_LIMIT // max(a.size, 1))]:
        crops = tuple(crops)
        if crops != g.crops and _close(a, _render(problem, canvas, crops), tol):
            return crops
    return None


def _reverse_groups(arr: np.ndarray, groups: int, axis: int) -> np.ndarray:
    split = (*arr.shape[:axis], groups, arr.shape[axis] // groups, *arr.shape[axis + 1:])
    return np.flip(arr.reshape(split), axis=axis).reshape(arr.shape)


def _group_order(problem: Problem, base: _Canvas, a: np.ndarray, fw: str, tol) -> Diagnosis | None:
    g = problem.geometry
    G, crops = g.groups, g.crops
    if _close(a, _render(problem, _canvas(problem, _reverse_groups(problem.w, G, 0)), crops), tol):
        return Diagnosis("group_order", f"{fw} output equals the expected one with the weight's {G} groups in "
                         f"reverse order: group g used the weights of group {G}-1-g (check how the grouped weight's "
                         "first axis is laid out)", {"groups": G, "reversed": "weight"})
    if a.ndim > 1 and a.shape[1] % G == 0 and _close(_reverse_groups(a, G, 1), _render(problem, base, crops), tol):
        return Diagnosis("group_order", f"{fw} output equals the expected one with its {G} output-channel groups "
                         f"in reverse order: group g's result landed in block {G}-1-g (check the output channel "
                         "order)", {"groups": G, "reversed": "output"})
    return None


def _precision(fw: str, dtype: str, stats: dict, loose) -> Diagnosis:
    ulps = stats["max_abs"] / (machine_eps(dtype) * max(stats["max_abs_expected"], np.finfo(np.float64).tiny))
    advice = "loosen the tolerance" + ("" if dtype == "float64" else " or compare in float64")
    sentence = (f"{fw} output differs only by rounding: max abs error {stats['max_abs']:.2g}, max rel error "
                f"{stats['max_rel']:.2g} ({ulps:.2g} ULPs of {dtype}); {advice} ({stats['mismatched_line']})")
    return Diagnosis("precision", sentence, {**stats, "ulps": ulps, "rtol": loose[0], "atol": loose[1]})


def _matches_reference(fw: str, stats: dict) -> Diagnosis:
    sentence = (f"{fw} output equals the NumPy reference's output, but the case's expected tensor differs from "
                f"both (max abs error {stats.get('max_abs', float('nan')):.2g}; "
                f"{stats.get('mismatched_line', 'shapes differ')}): check the expected values in the case file")
    return Diagnosis("unexplained", sentence, {**stats, "matches_reference": True})


def _flip_fix(fw: str, op: str) -> str:
    """What to do about a flipped kernel: a system named after a dialect gets that dialect's advice."""
    if op == "conv":
        return "the framework computed a true convolution rather than a cross-correlation (flip the kernel)"
    return semantics.DIALECTS.get(fw, Dialect).flip_advice


def _pairs(crops) -> str:
    text = [f"({lo}, {hi})" for lo, hi in crops]
    return text[0] if len(text) == 1 else "[" + ", ".join(text) + "]"


def _other_crop(fw: str, g: Geometry, crops, flipped: bool) -> Diagnosis:
    exp, transposed = g.crops, g.op == "conv_transpose"
    axes = [j for j, (c, e) in enumerate(zip(crops, exp)) if c != e]
    shifts = [(e[0] - c[0]) * (1 if transposed else -1) for c, e in zip(crops, exp)]
    details = {"crops": [list(c) for c in crops], "expected_crops": [list(c) for c in exp], "flipped": flipped,
               "axes": axes, "shifts": shifts, "axis": axes[0], "shift": shifts[axes[0]]}
    tail = f"; also {_flip_fix(fw, g.op)}" if flipped else ""
    was = f"{_pairs(crops)} instead of {_pairs(exp)}"
    if _lengths(g, crops) == _lengths(g, exp):
        moved = [shifts[j] for j in axes]
        where = (f"by {moved[0]} along spatial axis {axes[0]}" if len(axes) == 1
                 else f"by {moved} along spatial axes {', '.join(map(str, axes))}")
        flip = " and the kernel spatially flipped" if flipped else ""
        sentence = (f"{fw} output is the expected one shifted {where} ({'crop' if transposed else 'input padded'} "
                    f"{was}){flip}: {_shift_hint(transposed, crops, exp, axes)}{tail}")
        return Diagnosis("shifted", sentence, details)
    flip = " of the spatially flipped kernel" if flipped else ""
    head = f"the full output{flip} cropped" if transposed else f"the convolution{flip} of the input padded"
    hints = dict.fromkeys(h for c, e in zip(crops, exp) for h in _side_hints(transposed, c, e))
    return Diagnosis("crop", f"{fw} output equals {head} {was}: {'; '.join(hints)}{tail}", details)


def _shift_hint(transposed: bool, crops, exp, axes) -> str:
    if not all(crops[j] == exp[j][::-1] for j in axes):
        return "the same amount is split differently between the two ends (check padding vs output_padding)"
    if not transposed:
        return "the odd padding pixel went to the other end (SAME_UPPER vs SAME_LOWER, or the pads' order)"
    return ("the odd pixel was cropped at the other end (SAME_UPPER vs SAME_LOWER, Keras 'same' vs torch "
            "padding/output_padding)")


def _side_hints(transposed: bool, crop, want):
    """One phrase per end of one axis whose crop (pad) differs, worded from the signs."""
    for side, got, exp in zip(("start", "end"), crop, want):
        if got == exp:
            continue
        guess = f" (output_padding {'None instead of 0' if got < 0 else '0 instead of None'}?)" if side == "end" else ""
        if not transposed:
            yield f"padded {got} instead of {exp} at the {side}"
        elif exp < 0 <= got:
            yield f"no zero extension at the {side}{guess}"
        elif got < 0 <= exp:
            yield f"zero extension added at the {side}{guess}"
        else:
            yield f"{got} instead of {exp} cropped at the {side} (check padding/output_padding)"


def _size(g: Geometry, got, want, fw: str) -> Diagnosis:
    if g.op == "conv_transpose":
        formula, term = "(i-1)*s + d*(k-1) + 1 - lo - hi", "({i}-1)*{s} + {d}*({k}-1) + 1 - {lo} - {hi} = {n}"
    else:
        formula = "floor((i + lo + hi - d*(k-1) - 1) / s) + 1"
        term = "floor(({i} + {lo} + {hi} - {d}*({k}-1) - 1) / {s}) + 1 = {n}"
    parts = [term.format(i=i, k=k, s=a.stride, d=a.dilation, lo=a.lo, hi=a.hi, n=n)
             for i, k, a, n in zip(g.in_size, g.kernel, g.axes, g.out_size)]
    sentence = (f"{fw} output has out.shape={tuple(got)}, but should be {tuple(want)}: per axis the formula "
                f"{formula} gives {list(g.out_size)} ({'; '.join(parts)})")
    return Diagnosis("size", sentence, {"shape": list(got), "expected_shape": list(want),
                                        "formula_sizes": list(g.out_size)})


def _unexplained(fw: str, stats: dict, searched: bool) -> Diagnosis:
    scope = ("none of rounding, a flipped kernel, swapped channels, another crop or the group order explains it"
             if searched else "too large for the hypothesis search, only rounding was checked")
    nonfinite = f", {stats['nonfinite']} NaN/inf where the expected is finite" if stats["nonfinite"] else ""
    sentence = (f"{fw} output differs from the expected one ({scope}): max abs error {stats['max_abs']:.2g}, "
                f"max rel error {stats['max_rel']:.2g}{nonfinite} ({stats['mismatched_line']})")
    return Diagnosis("unexplained", sentence, {**stats, "searched": searched})
