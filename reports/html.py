"""The self-contained HTML report: summary, case x framework matrix, and per-case detail.

Rendered server-side with Jinja2 (autoescape on: case text is data), inline CSS and JS, no
network fetch, and deterministic for the same results (no timestamps).  Tensors are drawn as
heatmap tables with their values, in the canonical (N, C, *spatial) order, one 2-D slice per
(n, c) (and per depth for 3-D).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..harness.casefile import Entry, Suite
from ..harness.results import STATUSES, Result, RunResults, write_atomic

MAX_SLICES = 8
MAX_SIDE = 40


@dataclass
class Cell:
    text: str
    style: str


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
    geometry: str
    crops: list[dict[str, Any]]
    tensors: list[TensorView] = field(default_factory=list)
    results: dict[str, Result] = field(default_factory=dict)
    statuses: str = ""
    error: str = ""


def _fmt(v: float) -> str:
    if np.isnan(v):
        return "nan"
    if float(v).is_integer() and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.3g}"


def _color(v: float, scale: float) -> str:
    if not np.isfinite(v) or scale == 0:
        return "background:#fff"
    t = max(-1.0, min(1.0, v / scale))
    if t >= 0:
        r, g, b = 255, int(255 - 155 * t), int(255 - 200 * t)
    else:
        r, g, b = int(255 + 200 * t), int(255 + 120 * t), 255
    return f"background:rgb({r},{g},{b})"


def tensor_view(name: str, arr: np.ndarray) -> TensorView:
    """Canonical (N, C, *spatial) array -> heatmap slices."""
    arr = np.asarray(arr, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    spatial = arr.shape[2:]
    lead = arr.reshape(-1, *spatial) if len(spatial) < 3 else arr.reshape(-1, *spatial[-2:])
    labels = [f"n={n}, c={c}" + (f", d={d}" if len(spatial) == 3 else "")
              for n in range(arr.shape[0]) for c in range(arr.shape[1])
              for d in (range(spatial[0]) if len(spatial) == 3 else [None])]
    slices = []
    for label, plane in list(zip(labels, lead))[:MAX_SLICES]:
        plane = plane.reshape(1, -1) if plane.ndim == 1 else plane
        rows = [[Cell(_fmt(v), _color(v, scale)) for v in row[:MAX_SIDE]] for row in plane[:MAX_SIDE]]
        slices.append(Slice(label, rows))
    omitted = ""
    if len(labels) > MAX_SLICES or any(s > MAX_SIDE for s in spatial[-2:]):
        omitted = f"showing at most {MAX_SLICES} slices of {MAX_SIDE}x{MAX_SIDE}"
    return TensorView(name, "x".join(map(str, arr.shape)), slices, omitted)


def _case_view(entry: Entry, results: dict[str, Result]) -> CaseView:
    c = entry.case
    src = f"{c.source.document} ({c.source.where})" if c.source else ""
    args = ", ".join(f"{k}={v!r}" for k, v in c.args.items()) or "(defaults)"
    view = CaseView(c.id, c.title or c.id, c.framework, c.op, args, src, c.notes, list(c.tags), "", [],
                    results=results, statuses=" ".join(sorted({r.status for r in results.values()})))
    if entry.reading is None:
        view.geometry = f"declared invalid: {c.expected.reason}"
        return view
    r = entry.reading
    g = r.geometry
    view.geometry = g.describe()
    for a, (i, k, ax, full, out) in enumerate(zip(g.in_size, g.kernel, g.axes, g.full_size, g.out_size)):
        view.crops.append({"axis": a, "i": i, "k": k, "s": ax.stride, "d": ax.dilation, "lo": ax.lo,
                           "hi": ax.hi, "full": full, "out": out})
    try:
        x, w, _ = c.tensors()
        canon_x, canon_w = r.to_canonical_input(x), r.to_canonical_weight(w)
        view.tensors.append(tensor_view("input", canon_x))
        view.tensors.append(tensor_view("weight (canonical, torch layout)", canon_w))
        if c.expected.kind == "tensor":
            exp = c.expected.tensor.materialize("float64")
            view.tensors.append(tensor_view("expected", _to_canonical_output(r, exp)))
        for fw, res in results.items():
            if res.output is not None:
                out = np.asarray(res.output, dtype=np.float64)
                if tuple(out.shape) == r.output_shape():
                    view.tensors.append(tensor_view(f"{fw} output", _to_canonical_output(r, out)))
    except Exception as err:  # a report must render even for odd data
        view.error = f"{type(err).__name__}: {err}"
    return view


def _to_canonical_output(reading, arr: np.ndarray) -> np.ndarray:
    nd = reading.geometry.ndim
    canonical = ("N", "C", *range(nd))
    return np.transpose(arr, [tuple(reading.layout.output).index(r) for r in canonical])


def build_context(run: RunResults, suite: Suite | None) -> dict[str, Any]:
    frameworks = list(run.frameworks) or sorted({r.framework for r in run.results})
    by_case: dict[str, dict[str, Result]] = {}
    for res in run.results:
        by_case.setdefault(res.case, {})[res.framework] = res
    entries = {e.case.id: e for e in suite.entries} if suite else {}
    cases = []
    for case_id, results in by_case.items():
        if case_id in entries:
            cases.append(_case_view(entries[case_id], results))
        else:
            note = next(iter(results.values())).note
            cases.append(CaseView(case_id, case_id, "?", "?", "", "", note, [], "", [], results=results,
                                  statuses=" ".join(sorted({r.status for r in results.values()}))))
    counts = run.counts()
    used = [s for s in STATUSES if any(s in row for row in counts.values())]
    tags = sorted({t for c in cases for t in c.tags})
    return {"run": run, "frameworks": frameworks, "cases": cases, "counts": counts, "statuses": used,
            "all_statuses": STATUSES, "tags": tags, "n_failing": len(run.failing())}


def render(run: RunResults, suite: Suite | None) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("convtx.reports", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html").render(**build_context(run, suite))


def write_report(path: str, run: RunResults, suite: Suite | None) -> None:
    write_atomic(path, render(run, suite))
