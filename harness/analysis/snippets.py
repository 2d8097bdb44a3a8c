"""Code that runs as printed: one call, said in a target framework, for arrays in the *source* layouts.

`snippet(target, source)` writes a Python snippet taking `x`, `w` (and `b`) as NumPy arrays in the
source reading's layouts: it converts them to the target's layouts, builds the target's layer or op
with its weights set, runs it, and leaves the output in `y`, back in the source's output layout.  The
snippet is the first *route* that says the call (`routes`):

- the target's own arguments for exactly this call (`semantics.express`), or a writer's own way
  (jax: a grouped transposed convolution as `conv_general_dilated`);
- otherwise the closest native call plus NumPy around it: the full output (padding 0 / 'valid' /
  VALID) and the exact slice / zero-pad of the canonical crop (a forward convolution: the input padded
  or sliced first, then 'valid'), the groups run one by one and concatenated (Keras and tf.nn
  transposed convolutions have no groups), the kernel dilated with zeros (Keras refuses strides and
  dilation together).

Each route is checked against the target systems' known bugs (`adapters/known_bugs`, `KnownBug.describes`
on the route's canonical geometry and native arguments) and the writer's `unsupported` notes (what
some builds refuse); a snippet with a hazard carries the first later route without any as its
`alternative`.  What is framework-specific (imports, the call, the known-bug systems, refusals) is
each dialect's `Writer` in `snippet_writers`; this module knows layouts, crops and routes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

from convtx.harness import semantics
from convtx.harness.core.problem import Axis, Geometry, dilated_extent
from convtx.harness.semantics.common import Layout
from convtx.harness.semantics.routes import Hazard, Route

__all__ = ["Hazard", "Route", "Snippet", "snippet", "routes", "weight_conversion", "layout_note"]

_SPATIAL = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


@dataclass
class Snippet:
    framework: str
    native_args: dict[str, Any]
    code: str
    exact: bool
    steps: str
    hazards: list[Hazard] = field(default_factory=list)
    alternative: str = ""  # code that avoids the hazards, when a route without any exists
    alternative_args: dict[str, Any] | None = None
    alternative_steps: str = ""


def route_of(reading: semantics.Reading, **extra: Any) -> Route:
    return Route(dict(reading.given), dict(reading.args), reading.layout, reading.geometry, **extra)


def _transformed(g: Geometry, split: bool, dilate: bool, zero: bool) -> Geometry:
    kernel = tuple(dilated_extent(k, a.dilation) for k, a in zip(g.kernel, g.axes)) if dilate else g.kernel
    axes = tuple(Axis(a.stride, 1 if dilate else a.dilation, 0 if zero else a.lo, 0 if zero else a.hi)
                 for a in g.axes)
    c_in, c_out, groups = g.in_channels, g.out_channels, g.groups
    if split:
        c_in, c_out, groups = c_in // groups, c_out // groups, 1
    size = g.in_size
    if zero and g.op == "conv":  # the input is padded (or cut) in NumPy first
        size = tuple(i + a.lo + a.hi for i, a in zip(g.in_size, g.axes))
    return dataclasses.replace(g, in_channels=c_in, out_channels=c_out, groups=groups, kernel=kernel, axes=axes,
                               in_size=size, has_bias=False if (split or zero) else g.has_bias)


def routes(target: str, g: Geometry, writer) -> Iterable[Route]:
    """Every route that says g in `target`, the most native first."""
    said = semantics.express(target, g)
    if isinstance(said, semantics.Reading):
        yield route_of(said)
    yield from writer.routes(g)
    flags = [(s, d, z) for s in (False, True) for d in (False, True) for z in (False, True)
             if (s or d or z) and (g.groups > 1 or not s) and (any(a.dilation > 1 for a in g.axes) or not d)]
    for split, dilate, zero in flags:
        h = _transformed(g, split, dilate, zero)
        other = semantics.express(target, h)
        if isinstance(other, semantics.Reading):
            yield route_of(other, split=g.groups if split else 1, dilate=dilate, fix=g.crops if zero else None)


@lru_cache(maxsize=None)
def _bugs(systems: tuple[str, ...], files: tuple[str, ...] = ()) -> tuple:
    """The shipped entries of `systems` (a broken shipped file is `run`'s to report) and those of `files`
    (a user's own, `--known-bugs`: their errors are raised)."""
    from convtx.harness.engine import knownbugs
    try:
        shipped = tuple(knownbugs.load(systems))
    except Exception:
        shipped = ()
    return shipped + (tuple(knownbugs.load(systems, files)[len(shipped):]) if files else ())


def _about_calls(bug) -> bool:
    """An entry says something about a new call when its condition names the op: entries about particular
    cases or error messages, or a condition without `op` (tf's 3-D gradient entry, met by `check`'s
    gradient cells), say nothing about a forward call."""
    import ast
    if bug.when is None or bug.cases:
        return False
    return any(isinstance(node, ast.Name) and node.id == "op" for node in ast.walk(ast.parse(bug.when, mode="eval")))


def hazards(route: Route, writer, files: tuple[str, ...] = ()) -> list[Hazard]:
    """The known bugs of the writer's systems (shipped, and in `files`) that describe the route's native
    call, and its refusals."""
    from convtx.harness.engine.knownbugs import CellFacts
    out = []
    for bug in _bugs(tuple(writer.systems), tuple(files)):
        if not _about_calls(bug):
            continue
        if bug.describes(CellFacts("translate", bug.system, route.geometry, route.full_args)):
            where = ", ".join(f"{k} {v}" if k == "version" else f"{k}={v}" for k, v in bug.scope.items())
            out.append(Hazard("known_bug", bug.system, bug.reason, bug.link, where, bug.error or ""))
    return out + list(writer.unsupported(route))


def snippet(target: str, source: semantics.Reading, own: bool = False,
            known_bugs: tuple[str, ...] = ()) -> Snippet | None:
    """The snippet saying `source`'s call in `target` (None: no writer knows the target).  `own`: the target
    is the source's own framework, whose row runs the source's arguments as written.  `known_bugs`: known-bug
    files of the user's own, besides the shipped ones."""
    from convtx.harness.semantics.snippet_writers import WRITERS
    writer = WRITERS.get(target)
    if writer is None:
        return None
    g = source.geometry
    chosen = route_of(source) if own else next(iter(routes(target, g, writer)), None)
    if chosen is None:
        return None
    found = hazards(chosen, writer, known_bugs)
    out = Snippet(target, dict(chosen.args), code(writer, source, chosen), chosen.exact, chosen.steps(), found)
    if found:
        for other in routes(target, g, writer):
            if (other.args, other.steps()) != (chosen.args, chosen.steps()) and not hazards(other, writer, known_bugs):
                out.alternative, out.alternative_args = code(writer, source, other), dict(other.args)
                out.alternative_steps = other.steps() or "the native call"
                break
    return out


# --- writing the code ----------------------------------------------------------------------------

def _perm(src, dst) -> list[int]:
    return [tuple(src).index(r) for r in dst]


def _converted(name: str, src: tuple, dst: tuple, flip: bool) -> str:
    text = name
    if flip:
        text = f"np.flip({text}, axis={tuple(j for j, r in enumerate(src) if isinstance(r, int))})"
    perm = _perm(src, dst)
    if perm != list(range(len(perm))):
        text = f"{text}.transpose{tuple(perm)}"
    return text


def _contiguous(text: str, name: str) -> str:
    """A fresh C-ordered copy (torch.from_numpy refuses the negative strides np.flip leaves)."""
    return text if text == name else f"{text}.copy()"


def weight_conversion(source: semantics.Reading, target: semantics.Reading) -> str:
    """How to get the target's weight from the source layout's `w` (an expression, or 'as is')."""
    text = _converted("w", source.layout.weight, target.layout.weight, source.layout.flipped != target.layout.flipped)
    return text if text != "w" else "as is"


def layout_note(source: semantics.Reading, framework: str) -> str:
    """E.g. `x (N, C_in, H, W), w (C_in, C_out, kh, kw) and b (C_out,): NumPy arrays in torch's layouts;
    y (N, C_out, H, W)`."""
    g = source.geometry
    names = _SPATIAL[g.ndim]
    per = "/g" if g.groups > 1 else ""

    def acts(roles, c):
        return "(" + ", ".join("N" if r == "N" else c if r == "C" else names[r] for r in roles) + ")"

    w_names = {"in": "C_in" + (per if g.op == "conv" else ""),
               "out": "C_out" + (per if g.op == "conv_transpose" else "")}
    w = "(" + ", ".join(w_names[r] if isinstance(r, str) else "k" + names[r].lower()
                        for r in source.layout.weight) + ")"
    flip = " (spatially flipped)" if source.layout.flipped else ""
    b = " and b (C_out,)" if g.has_bias else ""
    return (f"x {acts(source.layout.input, 'C_in')}, w {w}{flip}{b}: NumPy arrays in {framework}'s layouts; "
            f"y {acts(source.layout.output, 'C_out')}")


def _index(ndim: int, at: int, text: str) -> str:
    return "[" + ", ".join([":"] * at + [text]) + "]"


def _pre_lines(source: semantics.Reading, route: Route, shapes: dict) -> tuple[list[str], str, str]:
    """Input padding (conv with a fix) and kernel dilation, in the source layout: (lines, x name, w name)."""
    lines, x, w = [], "x", "w"
    g, lay = source.geometry, source.layout
    if route.fix is not None and g.op == "conv":
        pads = [(0, 0)] * len(lay.input)
        cut = [":"] * len(lay.input)
        for a, (lo, hi) in enumerate(route.fix):
            j, size = lay.input.index(a), g.in_size[a]
            pads[j] = (max(lo, 0), max(hi, 0))
            if lo < 0 or hi < 0:
                cut[j] = f"{max(-lo, 0)}:{max(lo, 0) + size + max(hi, 0) - max(-hi, 0)}"
        lines.append(f"xp = np.pad(x, {pads})" + (f"[{', '.join(cut)}]" if any(c != ":" for c in cut) else "")
                     + f"  # pads {[tuple(f) for f in route.fix]}, then the call pads nothing")
        x = "xp"
    if route.dilate:
        roles = lay.weight
        shape = [shapes["w"][j] if not isinstance(r, int) else route.geometry.kernel[r] for j, r in enumerate(roles)]
        steps = ", ".join(f"::{g.axes[r].dilation}" if isinstance(r, int) else ":" for r in roles)
        lines += [f"wd = np.zeros({tuple(shape)}, w.dtype)", f"wd[{steps}] = w  # the kernel dilated with zeros"]
        w = "wd"
    return lines, x, w


def _body(writer, source: semantics.Reading, route: Route, bias: str | None, shapes: dict) -> list[str]:
    """From x, w in the source layout to y in the source layout, through the native call."""
    lines, x, w = _pre_lines(source, route, shapes)
    lay, to = source.layout, route.layout
    xt = _converted(x, lay.input, to.input, False)
    wt = _converted(w, lay.weight, to.weight, lay.flipped != to.flipped)
    lines += [f"xt = {_contiguous(xt, x)}"] if xt != x else []
    lines += [f"wt = {_contiguous(wt, w)}"] if wt != w else []
    lines += writer.call(route, "xt" if xt != x else x, "wt" if wt != w else w, bias)
    back = _converted("out", to.output, lay.output, False)
    lines.append(f"y = {back}" if back != "out" else "y = out")
    return lines


def _group_shapes(source: semantics.Reading, route: Route) -> dict:
    g = source.geometry
    w_shape = list(source.weight_shape())
    if route.split > 1:
        axis = source.layout.weight.index("in" if g.op == "conv_transpose" else "out")
        w_shape[axis] //= route.split
    return {"w": w_shape}


def _split_lines(source: semantics.Reading, route: Route, body: list[str]) -> list[str]:
    g, lay = source.geometry, source.layout
    cin, wrole = g.in_channels // route.split, "in" if g.op == "conv_transpose" else "out"
    wn = (g.in_channels if g.op == "conv_transpose" else g.out_channels) // route.split
    xs = "x" + _index(len(lay.input), lay.input.index("C"), f"{cin} * i:{cin} * (i + 1)")
    ws = "w" + _index(len(lay.weight), lay.weight.index(wrole), f"{wn} * i:{wn} * (i + 1)")
    return (["def one_group(x, w):", *["    " + ln for ln in body], "    return y", "",
             f"y = np.concatenate([one_group({xs}, {ws}) for i in range({route.split})], "
             f"axis={lay.output.index('C')})"])


def _fix_lines(source: semantics.Reading, route: Route) -> list[str]:
    g, lay = source.geometry, source.layout
    if route.fix is None or g.op != "conv_transpose":
        return []
    full = route.geometry.out_size
    cut, pads = [":"] * len(lay.output), [(0, 0)] * len(lay.output)
    for a, (lo, hi) in enumerate(route.fix):
        j = lay.output.index(a)
        cut[j] = f"{max(lo, 0)}:{full[a] - max(hi, 0)}"
        pads[j] = (max(-lo, 0), max(-hi, 0))
    while cut and cut[-1] == ":":
        cut.pop()
    size = "x".join(map(str, full))
    what = f"crop {[tuple(c) for c in route.fix]} of the full output ({size})"
    lines = []
    if any(lo > 0 or hi > 0 for lo, hi in route.fix):
        lines.append(f"y = y[{', '.join(cut)}]  # {what}")
    if any(p != (0, 0) for p in pads):
        lines.append(f"y = np.pad(y, {pads})  # zeros where the crop is negative" + ("" if lines else f": {what}"))
    return lines


def code(writer, source: semantics.Reading, route: Route) -> str:
    g = source.geometry
    native_bias = g.has_bias and route.exact and writer.native_bias
    shapes = _group_shapes(source, route)
    body = _body(writer, source, route, "b" if native_bias else None, shapes)
    lines = ["import numpy as np", *writer.imports, ""]
    lines += _split_lines(source, route, body) if route.split > 1 else body
    lines += _fix_lines(source, route)
    if g.has_bias and not native_bias:
        shape = tuple(-1 if r == "C" else 1 for r in source.layout.output)
        lines.append(f"y = y + b.reshape({shape})")
    return "\n".join(lines)
