"""View models of the HTML report: heatmaps, the padding-semantics table (with each framework's code to
paste, from `porting`) and element explanations.

Everything here is plain data for the template; values are drawn in the canonical
(N, C, *spatial) order, one 2-D slice per (n, c) (and per depth for 3-D), and every cell knows
its index in the case's own layout so that clicking it can show `convtx explain` for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
import numpy as np
from numpy.typing import ArrayLike

from convtx.harness import semantics
from convtx.harness.caseformat.casefile import Entry
from convtx.harness.analysis.explain import explain
from convtx.harness.semantics.formulas import canonical as canonical_formula
from convtx.harness.semantics.formulas import formula
from convtx.harness.engine.results import Result
from convtx.reports.porting import CodeView, code_view, layout_note

MAX_SLICES = 8
MAX_SIDE = 40
EXPLAIN_LIMIT = 1024  # explanations are embedded for outputs up to this many elements...
EXPLAIN_TERMS = 6000  # ...and up to about this many input x weight terms in all


@dataclass
class Cell:
    text: str
    style: str
    index: str = ""  # the element's index in the case's layout (outputs only)


@dataclass
class Slice:
    label: str
    rows: list[list[Cell]]


@dataclass
class TensorView:
    name: str
    shape: str
    slices: list[Slice]
    omitted: str = ""
    kind: str = "tensor"  # tensor | output | diff | full
    scale: str = ""  # a difference map's colour scale: -scale (blue) .. 0 (white) .. +scale (red)
    note: str = ""  # e.g. "torch, jax: identical" when one drawing stands for several outputs


@dataclass
class SemanticsRow:
    framework: str
    args: str
    crops: str
    formulas: list[str]
    expressible: bool
    own: bool = False
    code: CodeView | None = None  # the snippet `convtx translate` prints for this case and framework


@dataclass
class CaseView:
    id: str
    title: str
    framework: str
    op: str
    args: str
    source: str
    notes: str
    tags: list[str]
    geometry: str = ""
    canonical: list[str] = field(default_factory=list)
    semantics: list[SemanticsRow] = field(default_factory=list)
    tensors: list[TensorView] = field(default_factory=list)
    results: dict[str, Result] = field(default_factory=dict)
    explanations: str = ""  # JSON, '<' escaped
    error: str = ""
    layouts: str = ""  # what the snippets take and give (the case's layouts)


def _fmt(v: float) -> str:
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    if float(v).is_integer() and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.3g}"


# A diverging map for differences (ColorBrewer RdBu, colour-blind safe): blue negative, white zero,
# red positive, symmetric around 0.  DIVERGING_CSS is the same ramp for the legend.
_DIVERGING = ((33, 102, 172), (67, 147, 195), (146, 197, 222), (209, 229, 240), (255, 255, 255),
              (253, 219, 199), (244, 165, 130), (214, 96, 77), (178, 24, 43))
DIVERGING_CSS = "linear-gradient(to right, " + ", ".join(f"rgb{c}" for c in _DIVERGING) + ")"


def _diverging(t: float) -> str:
    """t in [-1, 1] -> a CSS background (and white text where the colour is dark)."""
    pos = (t + 1) / 2 * (len(_DIVERGING) - 1)
    i = min(int(pos), len(_DIVERGING) - 2)
    f = pos - i
    r, g, b = (round(a + (z - a) * f) for a, z in zip(_DIVERGING[i], _DIVERGING[i + 1]))
    return f"background:rgb({r},{g},{b})" + (";color:#fff" if abs(t) > 0.7 else "")


def _color(v: float, scale: float, diff: bool = False) -> str:
    if not np.isfinite(v) or scale == 0:
        return "background:#fff"
    t = max(-1.0, min(1.0, v / scale))
    if diff:
        return _diverging(t)
    if t >= 0:
        r, g, b = 255, int(255 - 155 * t), int(255 - 200 * t)
    else:
        r, g, b = int(255 + 200 * t), int(255 + 120 * t), 255
    return f"background:rgb({r},{g},{b})"


def tensor_view(name: str, arr: np.ndarray, index_of=None, kind: str = "tensor") -> TensorView:
    """Canonical (N, C, *spatial) array -> heatmap slices; index_of maps a canonical index to the
    case-layout index string of an output element (for click-to-explain)."""
    arr = np.asarray(arr, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    spatial = arr.shape[2:]
    slices: list[Slice] = []
    for n in range(arr.shape[0]):
        for c in range(arr.shape[1]):
            for d in (range(spatial[0]) if len(spatial) == 3 else [None]):
                if len(slices) == MAX_SLICES:
                    break
                plane = arr[n, c] if d is None else arr[n, c, d]
                plane = plane.reshape(1, -1) if plane.ndim == 1 else plane
                lead = (n, c) if d is None else (n, c, d)
                rows = []
                for y, row in enumerate(plane[:MAX_SIDE]):
                    cells = []
                    for x, v in enumerate(row[:MAX_SIDE]):
                        idx = (*lead, x) if len(spatial) == 1 else (*lead, y, x)
                        cells.append(Cell(_fmt(v), _color(v, scale, kind == "diff"), index_of(idx) if index_of else ""))
                    rows.append(cells)
                label = f"n={n}, c={c}" + (f", d={d}" if d is not None else "")
                slices.append(Slice(label, rows))
    total = arr.shape[0] * arr.shape[1] * (spatial[0] if len(spatial) == 3 else 1)
    omitted = ""
    if total > MAX_SLICES or any(s > MAX_SIDE for s in spatial[-2:]):
        omitted = f"showing at most {MAX_SLICES} slices of {MAX_SIDE}x{MAX_SIDE}"
    return TensorView(name, "x".join(map(str, arr.shape)), slices, omitted, kind,
                      _fmt(scale) if kind == "diff" else "")


def full_output_view(entry: Entry) -> TensorView | None:
    """The reference's full (uncropped) output, the cells the crop removes faded out."""
    from convtx.harness.core import reference
    from convtx.harness.engine.verdict import problem_of

    g = entry.understood.geometry
    if g.op != "conv_transpose" or int(np.prod(g.full_size)) * g.batch * g.out_channels > 200_000:
        return None
    p = problem_of(entry)
    full = reference.full_conv_transpose(p.x, p.w, g)
    view = tensor_view("full output before the crop (faded: cropped away)", full, None, "full")
    for sl in view.slices:
        for y, row in enumerate(sl.rows):
            for x, cell in enumerate(row):
                pos = (x,) if g.ndim == 1 else (y, x)
                axes = g.axes[-len(pos):]
                sizes = g.full_size[-len(pos):]
                kept = all(max(a.lo, 0) <= q < L - max(a.hi, 0) for q, a, L in zip(pos, axes, sizes))
                if not kept:
                    cell.style += ";opacity:.3"
    extension = [(max(-a.lo, 0), max(-a.hi, 0)) for a in g.axes]
    if any(lo or hi for lo, hi in extension):
        view.omitted = (f"the output also adds zeros: {extension} (before, after) per axis "
                        "(negative crop = zero extension)")
    return view


def _canonical_output(reading: semantics.Reading, arr: ArrayLike) -> np.ndarray:
    return reading.to_canonical_output(np.asarray(arr, dtype=np.float64))


def semantics_rows(entry: Entry) -> list[SemanticsRow]:
    g, case = entry.understood.geometry, entry.case
    rows = []
    for fw in semantics.FRAMEWORKS:
        own = fw == case.framework
        reading = entry.understood if own else semantics.express(fw, g)
        if isinstance(reading, semantics.NotExpressible):
            rows.append(SemanticsRow(fw, f"not expressible: {reading.reason}", "", [], False, code=code_view(entry, fw)))
            continue
        given = case.args if own else reading.given
        args = ", ".join(f"{k}={v!r}" for k, v in given.items()) or "(defaults)"
        crops = ", ".join(f"({lo}, {hi})" for lo, hi in g.crops)
        formulas = [formula(fw, dict(reading.args), g, a) for a in range(g.ndim)]
        if g.ndim > 1 and len(set(formulas)) == 1:
            formulas = [f"{formulas[0]}  (every axis)"]
        rows.append(SemanticsRow(fw, args, crops, formulas, True, own, code_view(entry, fw)))
    return rows


def explanations(entry: Entry) -> str:
    """JSON of {case-layout index: explanation text} for every output element (small outputs)."""
    reading = entry.understood
    shape, g = reading.output_shape(), reading.geometry
    per_element = g.in_channels // g.groups * int(np.prod(g.kernel))
    if g.op == "conv_transpose":
        per_element = max(1, per_element // int(np.prod([a.stride for a in g.axes])))
    if int(np.prod(shape)) > EXPLAIN_LIMIT or int(np.prod(shape)) * per_element > EXPLAIN_TERMS:
        return ""
    out = {}
    tensors = entry.case.tensors()
    for idx in np.ndindex(*shape):
        out[",".join(map(str, idx))] = explain(entry, tuple(int(i) for i in idx), tensors).text()
    return json.dumps(out, sort_keys=True).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def index_mapper(reading):
    canonical = ("N", "C", *range(reading.geometry.ndim))

    def index_of(idx) -> str:
        values = dict(zip(canonical, idx))
        return ",".join(str(values[r]) for r in reading.layout.output)
    return index_of


def output_views(entry: Entry, results: dict[str, Result]) -> list[TensorView]:
    """Expected (or the reference's output), then each distinct output that differs, with its
    difference map; outputs that are identical to each other are drawn once, with their names."""
    reading, case = entry.understood, entry.case
    index_of = index_mapper(reading)
    views = []
    expected, against = None, "expected"
    if case.expected.kind == "tensor":
        expected = _canonical_output(reading, case.expected.spec.materialize("float64"))
        views.append(tensor_view("expected output", expected, index_of, "output"))
    elif results.get("numpy") is not None and results["numpy"].output is not None:
        expected, against = _canonical_output(reading, results["numpy"].output), "reference"
        views.append(tensor_view("reference output (the case records only the shape)", expected, index_of, "output"))
    for names, out in distinct_outputs(entry, results):
        label = ", ".join(names)
        view = tensor_view(f"{label} output", out, index_of, "output")
        if len(names) > 1:
            view.note = f"{label}: identical"
        views.append(view)
        if expected is not None and expected.shape == out.shape:
            views.append(tensor_view(f"{label} - {against}", out - expected, index_of, "diff"))
    return views


def distinct_outputs(entry: Entry, results: dict[str, Result]) -> list[tuple[list[str], np.ndarray]]:
    """The outputs of the results that do not pass (of the expected shape), identical ones merged:
    [(frameworks, canonical output)] in the results' order."""
    reading = entry.understood
    groups: list[tuple[list[str], np.ndarray]] = []
    for fw, res in results.items():
        if res.status == "pass" or res.output is None or tuple(np.shape(res.output)) != reading.output_shape():
            continue
        out = _canonical_output(reading, res.output)
        same = next((names for names, seen in groups if np.array_equal(seen, out, equal_nan=True)), None)
        if same is not None:
            same.append(fw)
        else:
            groups.append(([fw], out))
    return groups


def case_view(entry: Entry, results: dict[str, Result]) -> CaseView:
    c = entry.case
    src = f"{c.source.document} ({c.source.where})" if c.source else ""
    args = ", ".join(f"{k}={v!r}" for k, v in c.args.items()) or "(defaults)"
    view = CaseView(c.id, c.title or c.id, c.framework, c.op, args, src, c.notes, list(c.tags), results=results)
    if entry.reading is None:
        view.geometry = f"declared invalid: {c.expected.reason}"
        return view
    g = entry.reading.geometry
    view.geometry = g.describe()
    view.canonical = [canonical_formula(g, a) for a in range(g.ndim)]
    try:
        view.semantics = semantics_rows(entry)
        view.layouts = layout_note(entry)
        x, w, _ = c.tensors()
        view.tensors.append(tensor_view("input", entry.reading.to_canonical_input(x)))
        view.tensors.append(tensor_view("weight (torch layout, unflipped)", entry.reading.to_canonical_weight(w)))
        full = full_output_view(entry)
        if full is not None:
            view.tensors.append(full)
        view.tensors.extend(output_views(entry, results))
        view.explanations = explanations(entry)
    except Exception as err:  # a report must render even for odd data
        view.error = f"{type(err).__name__}: {err}"
    return view


def plain_view(case_id: str, results: dict[str, Result]) -> CaseView:
    """A row for a result whose case is not (or no longer) loadable: an invalid file, say."""
    note = next(iter(results.values())).note
    return CaseView(case_id, case_id, "?", "?", "", "", note, [], results=results)


__all__ = ["DIVERGING_CSS", "CaseView", "TensorView", "case_view", "distinct_outputs", "plain_view", "tensor_view"]
