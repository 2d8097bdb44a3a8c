"""How one output element is computed: its input x weight terms, in the case's own layout.

For a transposed convolution, output position o maps to full-output position f = o + lo; input
y contributes through kernel tap t where y*s + t*d = f.  A position outside the full output is
zero extension (no terms).  For a forward convolution, out[o] = sum x[o*s + t*d - lo] * w[t].
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field

from convtx.harness.caseformat.casefile import Entry
from convtx.harness.core.errors import UsageError
from convtx.harness.semantics.common import canonical_weight_roles


@dataclass(frozen=True)
class Term:
    input_index: tuple[int, ...]
    input_value: float
    weight_index: tuple[int, ...]
    weight_value: float

    @property
    def product(self) -> float:
        return self.input_value * self.weight_value


@dataclass
class Explanation:
    case: str
    index: tuple[int, ...]
    value: float
    terms: list[Term] = field(default_factory=list)
    bias: float | None = None
    position: str = ""

    def to_json(self) -> dict:
        data = asdict(self)
        for t, term in zip(data["terms"], self.terms):
            t["product"] = term.product
        return data

    def text(self) -> str:
        idx = ",".join(map(str, self.index))
        lines = [f"out[{idx}] = {_fmt(self.value)}    ({self.position})"]
        if not self.terms and self.bias is None:
            lines.append("  = 0 (no input element reaches this position)")
        for k, t in enumerate(self.terms):
            sign = "=" if k == 0 else "+"
            xi, wi = ",".join(map(str, t.input_index)), ",".join(map(str, t.weight_index))
            lines.append(f"  {sign} x[{xi}] * w[{wi}]    ({_fmt(t.input_value)} x {_fmt(t.weight_value)}"
                         f" = {_fmt(t.product)})")
        if self.bias is not None:
            lines.append(f"  {'+' if self.terms else '='} bias    ({_fmt(self.bias)})")
        lines.append(f"  {len(self.terms)} term{'s' if len(self.terms) != 1 else ''}")
        return "\n".join(lines)


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else f"{v:.6g}"


def parse_index(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.split(","))
    except ValueError:
        raise UsageError(f"--at {text!r}: expected comma-separated integers, e.g. 0,0,0,1") from None


def explain(entry: Entry, index: tuple[int, ...], tensors=None) -> Explanation:
    """The terms of output element `index` (case layout); `tensors` = case.tensors(), if at hand."""
    case, reading = entry.case, entry.reading
    if reading is None:
        raise UsageError(f"case '{case.id}' is declared invalid ({case.expected.reason}): it has no output")
    shape = reading.output_shape()
    if len(index) != len(shape) or any(not 0 <= i < n for i, n in zip(index, shape)):
        raise UsageError(f"--at {','.join(map(str, index))}: not an index of the output, whose shape is "
                         f"{list(shape)} in the case's layout")
    g = reading.geometry
    x, w, b = tensors if tensors is not None else case.tensors()
    n, co, *o = reading.canonical_index(index)
    x_index, w_index = _index_mappers(reading)
    terms = []
    for ci, ch, y, tap in _contributions(g, co, o):
        xi, wi = x_index(n, ci, y), w_index(ci if g.op == "conv_transpose" else co, ch, tap)
        terms.append(Term(xi, float(x[xi]), wi, float(w[wi])))
    bias = float(b[co]) if b is not None else None
    value = float(sum(t.product for t in terms) + (bias or 0.0))
    if g.op == "conv_transpose":
        full = tuple(oi + a.lo for oi, a in zip(o, g.axes))
        outside = any(not 0 <= f < L for f, L in zip(full, g.full_size))
        where = "outside the full output: zero extension" if outside else "full-output position"
        position = f"{where} {full} of {g.full_size}, after crop {list(g.crops)}"
    else:
        position = f"input window starting at {tuple(oi * a.stride - a.lo for oi, a in zip(o, g.axes))}"
    return Explanation(case.id, tuple(index), value, terms, bias, position)


def _contributions(g, co: int, o: list[int]):
    """Yield (input channel, weight's second-dim index, input spatial index, tap)."""
    cin_g, cout_g = g.in_channels // g.groups, g.out_channels // g.groups
    group = co // cout_g
    for ci_local in range(cin_g):
        ci = group * cin_g + ci_local
        for tap in itertools.product(*(range(k) for k in g.kernel)):
            y = _source_position(g, o, tap)
            if y is not None:
                ch = co % cout_g if g.op == "conv_transpose" else ci_local
                yield ci, ch, y, tap


def _source_position(g, o, tap):
    y = []
    for oi, t, a, size in zip(o, tap, g.axes, g.in_size):
        if g.op == "conv_transpose":
            num = oi + a.lo - t * a.dilation
            if num % a.stride:
                return None
            yi = num // a.stride
        else:
            yi = oi * a.stride + t * a.dilation - a.lo
        if not 0 <= yi < size:
            return None
        y.append(yi)
    return tuple(y)


def _index_mappers(reading):
    """Canonical input/weight indices -> the same elements' indices in the case's layout."""
    nd = reading.geometry.ndim
    layout = reading.layout
    kernel = reading.geometry.kernel
    canon_in = ("N", "C", *range(nd))
    canon_w = canonical_weight_roles(reading.geometry.op, nd)

    def x_index(n, ci, y):
        vals = dict(zip(canon_in, (n, ci, *y)))
        return tuple(vals[r] for r in layout.input)

    def w_index(a, b, tap):
        if layout.flipped:
            tap = tuple(k - 1 - t for k, t in zip(kernel, tap))
        vals = dict(zip(canon_w, (a, b, *tap)))
        return tuple(vals[r] for r in layout.weight)

    return x_index, w_index


__all__ = ["explain", "parse_index", "Explanation", "Term"]
