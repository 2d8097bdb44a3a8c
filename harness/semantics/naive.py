"""The traps: what the mistakes people make when porting a call produce instead of its meaning.

A person porting `ConvTranspose2d(k=3, stride=2, padding=1, output_padding=1)` to Keras writes
`padding='same', output_padding=1`; to jax, `padding=((1, 1), (1, 1))`.  `naive_port(...)` builds
those arguments (the numbers carried over *by name*, the layout converted correctly, the meaning not),
reads them back through the target's dialect, and says how the result differs from the case's
meaning: other size, crop at the other end (a shift), a flipped kernel, or a call the target refuses.
`traps(...)` adds the other mistakes seen in real issue threads, per target (`_MISTAKES`):

- torch / paddle: Keras's `'same'` (or any end-heavy crop) ported as `padding=p, output_padding=op`
  with the same size: the crop mirrored, so the output is shifted by one pixel;
- keras: `padding='same'` with `output_padding` left out, "since 'same' already gives i*s";
- tf: `output_shape` off by one (forgetting output_padding, or adding one too many);
- onnx: `auto_pad` SAME_UPPER and SAME_LOWER swapped;
- jax (by name): integer padding carried into `padding=((p, p), ...)`, which pads the *dilated
  input* (crop k-1-p), with the kernel used as a forward convolution's (transpose_kernel=False).

These are semantics notes, never framework failures.  How each framework's padding reads and is
written by name is its dialect's (`Dialect.spelling`, `Dialect.naive_args`); this module compares
the meanings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from convtx.harness import semantics
from convtx.harness.core.problem import Geometry
from convtx.harness.semantics.common import Spelling

__all__ = ["NaivePort", "Spelling", "naive_port", "render", "spelling", "traps"]


@dataclass(frozen=True)
class NaivePort:
    target: str
    args: dict[str, Any] | None
    same_meaning: bool
    note: str
    mistake: str = "naive port"  # which mistake: "naive port" (by name) or one of `_MISTAKES`' labels
    shifted: bool = False  # the right size, cropped at the other end: the trap that passes a shape check
    refused: bool = False  # the target refuses the arguments


def spelling(framework: str, args: dict, n: int) -> Spelling | None:
    """Read the padding words/numbers of a call written in `framework` (its dialect's `spelling`)."""
    return semantics.DIALECTS[framework].spelling(args, n)


def render(target: str, sp: Spelling, g: Geometry) -> dict[str, Any] | None:
    """The arguments a by-name port to `target` would write (its dialect's `naive_args`)."""
    return semantics.DIALECTS[target].naive_args(sp, g)


def naive_port(source: str, args: dict, reading: semantics.Reading, target: str) -> NaivePort:
    g = reading.geometry
    naive_args = None
    if g.op == "conv_transpose":
        try:
            sp = spelling(source, args, g.ndim)
            naive_args = None if sp is None else render(target, sp, g)
        except (TypeError, ValueError, IndexError, KeyError):
            naive_args = None
    if naive_args is None:
        return NaivePort(target, None, True, "")
    return judge(source, reading, target, naive_args, "naive port")


def judge(source: str, reading: semantics.Reading, target: str, args: dict[str, Any], mistake: str) -> NaivePort:
    """What `args`, written in `target` for `reading`'s call, produce instead (read back, compared)."""
    hidden = ("strides", "stride", "output_shape") if mistake == "naive port" else ("strides", "stride")
    shown = ", ".join(f"{k}={v!r}" for k, v in args.items() if k not in hidden)
    head = f"naive port {target}({shown})" if mistake == "naive port" else f"{target}({shown}), {mistake}"
    try:
        ported = semantics.read_canonical(target, reading.geometry, args)
    except (semantics.ArgError, semantics.InvalidArguments) as err:
        return NaivePort(target, args, False, f"{head}: refused: {err}", mistake, refused=True)
    same, problems, shifted = _compare(reading, ported, (source, target))
    return NaivePort(target, args, same, f"{head}: {problems}", mistake, shifted)


def traps(source: str, args: dict, reading: semantics.Reading, target: str) -> list[NaivePort]:
    """The by-name port and the other real mistakes toward `target` that change the meaning, the
    right-size ones (a shift only) first."""
    g = reading.geometry
    out = []
    first = naive_port(source, args, reading, target)
    if first.args is not None:
        out.append(first)
    if g.op == "conv_transpose" and target != source:
        for mistake, wrong in _MISTAKES.get(target, lambda r, s: ())(reading, source):
            if all(wrong != p.args for p in out):
                port = judge(source, reading, target, wrong, mistake)
                if not port.same_meaning:
                    out.append(port)
    runs = {p.mistake for p in out if not p.refused}
    out = [p for p in out if not (p.refused and p.mistake in runs)]  # a refusal only where the mistake never runs
    return sorted(out, key=lambda p: (p.same_meaning, not p.shifted))


def _compare(true: semantics.Reading, ported: semantics.Reading, names: tuple[str, str]) -> tuple[bool, str, bool]:
    """(same meaning, what differs, right size but shifted) of the port read back as `ported`."""
    (source, target), g, h = names, true.geometry, ported.geometry
    flip = true.layout.flipped != ported.layout.flipped
    problems = []
    shifted = False
    if h.out_size != g.out_size:
        problems.append(f"output {'x'.join(map(str, h.out_size))} instead of {'x'.join(map(str, g.out_size))} "
                        f"(crop {list(h.crops)} instead of {list(g.crops)})")
    elif h.crops != g.crops:
        shifted = True
        shifts = [a.lo - b.lo for a, b in zip(h.axes, g.axes)]
        problems.append(f"same {'x'.join(map(str, g.out_size))} size, shifted by {shifts} "
                        f"(crop {list(h.crops)} instead of {list(g.crops)}: the odd pixel cropped at the other end)")
    if flip:
        flipper = semantics.DIALECTS[source if true.layout.flipped else target]
        problems.append(f"the kernel spatially flipped ({flipper.flip_note})")
    if not problems:
        return True, "same meaning", False
    return False, "; ".join(problems), shifted


# --- the mistakes, per target ------------------------------------------------------------------

def _torch_like(stride: str, dilation: str, groups: str) -> Callable[[semantics.Reading, str], Iterable]:
    """Keras's 'same' recipe: padding p and output_padding op chosen for the right size, i.e. the crop
    mirrored (p = the larger end, op = the difference)."""
    def mistakes(reading: semantics.Reading, source: str) -> Iterable[tuple[str, dict]]:
        g = reading.geometry
        if not any(a.lo < a.hi for a in g.axes):
            return
        args: dict[str, Any] = {stride: [a.stride for a in g.axes], "padding": [max(a.lo, a.hi) for a in g.axes],
                                "output_padding": [abs(a.lo - a.hi) for a in g.axes]}
        if any(a.dilation > 1 for a in g.axes):
            args[dilation] = [a.dilation for a in g.axes]
        if g.groups > 1:
            args[groups] = g.groups
        yield "'same' ported as padding + output_padding of the right size", args
    return mistakes


def _keras(reading: semantics.Reading, source: str) -> Iterable[tuple[str, dict]]:
    g = reading.geometry
    if g.groups == 1 and all(o == i * a.stride for o, i, a in zip(g.out_size, g.in_size, g.axes)):
        args: dict[str, Any] = {"strides": [a.stride for a in g.axes], "padding": "same"}
        if any(a.dilation > 1 for a in g.axes):
            args["dilation_rate"] = [a.dilation for a in g.axes]
        yield "'same' because it gives i*s, output_padding left out", args


def _tf(reading: semantics.Reading, source: str) -> Iterable[tuple[str, dict]]:
    """output_shape one too small (output_padding forgotten) or too large, with 'SAME' and with the padding
    that says the call."""
    g = reading.geometry
    if g.groups > 1:
        return
    said = semantics.express("tf", g)
    base: dict[str, Any] = {"strides": [a.stride for a in g.axes]}
    if any(a.dilation > 1 for a in g.axes):
        base["dilations"] = [a.dilation for a in g.axes]
    paddings = ["SAME"] + ([said.given["padding"]] if isinstance(said, semantics.Reading) else [])
    for delta in (-1, 1):
        shape = [g.batch, *(o + delta for o in g.out_size), g.out_channels]
        for padding in paddings:
            yield f"output_shape off by {delta:+d}", {"output_shape": shape, **base, "padding": padding}


def _onnx(reading: semantics.Reading, source: str) -> Iterable[tuple[str, dict]]:
    g = reading.geometry
    if not all(o == i * a.stride for o, i, a in zip(g.out_size, g.in_size, g.axes)):
        return
    base: dict[str, Any] = {"strides": [a.stride for a in g.axes]}
    if any(a.dilation > 1 for a in g.axes):
        base["dilations"] = [a.dilation for a in g.axes]
    if g.groups > 1:
        base["group"] = g.groups
    for word in ("SAME_UPPER", "SAME_LOWER"):
        yield "SAME_UPPER / SAME_LOWER swapped", {**base, "auto_pad": word}


_MISTAKES: dict[str, Callable[[semantics.Reading, str], Iterable[tuple[str, dict]]]] = {
    "torch": _torch_like("stride", "dilation", "groups"), "paddle": _torch_like("stride", "dilation", "groups"),
    "keras": _keras, "tf": _tf, "onnx": _onnx}
