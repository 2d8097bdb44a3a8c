"""The trap: what a naive port produces when a call's numbers are carried over *by name*.

A person porting `ConvTranspose2d(k=3, stride=2, padding=1, output_padding=1)` to Keras writes
`padding='same', output_padding=1`; to jax, `padding=((1, 1), (1, 1))`.  `naive_port(...)` builds
those arguments (the layout converted correctly, the meaning not), reads them back through the
target's dialect, and says how the result differs from the case's meaning: other size, crop at
the other end (a shift), a flipped kernel, or a call the target refuses.  These are semantics
notes, never framework failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convtx.harness import semantics
from convtx.harness.core.problem import Geometry


@dataclass(frozen=True)
class Spelling:
    """A call's padding as a porter sees it: numbers and words, not meaning."""

    pad: tuple  # ("int", [p..]) | ("pairs", [(lo, hi)..]) | ("same",) | ("valid",)
    output_padding: list[int] | None


@dataclass(frozen=True)
class NaivePort:
    target: str
    args: dict[str, Any] | None
    same_meaning: bool
    note: str


def _per_axis(value, n: int) -> list[int]:
    if value is None:
        return [0] * n
    return [value] * n if isinstance(value, int) else list(value)


def spelling(framework: str, args: dict, n: int) -> Spelling:
    """Read the padding words/numbers of a call written in `framework`."""
    op = args.get("output_padding")
    if framework == "torch":
        pad = args.get("padding", 0)
        return Spelling(("same",) if pad == "same" else ("int", _per_axis(pad, n)),
                        _per_axis(op, n) if op is not None else None)
    if framework == "paddle":
        return Spelling(_paddle_padding(args.get("padding", 0), n), _per_axis(op, n) if op is not None else None)
    if framework in ("keras", "tf", "jax"):
        pad = args.get("padding", "valid" if framework == "keras" else "SAME")
        if isinstance(pad, str):
            return Spelling((pad.lower(),) if pad.lower() in ("same", "valid") else ("valid",),
                            _per_axis(op, n) if op is not None else None)
        pairs = [tuple(p) for p in pad]
        pairs = pairs[1:-1] if len(pairs) == n + 2 else pairs
        return Spelling(("pairs", pairs), None)
    auto = args.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        return Spelling(("same",), _per_axis(op, n) if op else None)
    if auto == "VALID":
        return Spelling(("valid",), _per_axis(op, n) if op else None)
    pads = _per_axis(args.get("pads", 0), 2 * n)
    return Spelling(("pairs", [(pads[a], pads[a + n]) for a in range(n)]), _per_axis(op, n) if op else None)


def _paddle_padding(pad, n: int) -> tuple:
    if isinstance(pad, str):
        return (pad.lower(),) if pad.lower() in ("same", "valid") else ("valid",)
    if isinstance(pad, int):
        return ("int", [pad] * n)
    if all(isinstance(p, list) for p in pad):
        pairs = [tuple(p) for p in pad]
        return ("pairs", pairs[2:] if len(pairs) == n + 2 and pairs[0] == (0, 0) else pairs[-n:])
    if len(pad) == 2 * n:  # [before_0, after_0, before_1, after_1, ...]
        return ("pairs", [(pad[2 * a], pad[2 * a + 1]) for a in range(n)])
    return ("int", list(pad))


def render(target: str, sp: Spelling, g: Geometry) -> dict[str, Any]:
    """The arguments a by-name port to `target` would write."""
    strides = [a.stride for a in g.axes]
    dil = [a.dilation for a in g.axes]
    kind = sp.pad[0]
    ints = sp.pad[1] if kind == "int" else [lo for lo, _ in sp.pad[1]] if kind == "pairs" else None
    op = sp.output_padding if sp.output_padding and any(sp.output_padding) else None
    if target == "paddle":
        if kind in ("same", "valid"):
            pad: Any = kind.upper()
        elif kind == "pairs":
            pad = [v for pair in sp.pad[1] for v in pair]
        else:
            pad = ints
        out = {"stride": strides, "padding": pad, **({"dilation": dil} if any(d > 1 for d in dil) else {}),
               **({"groups": g.groups} if g.groups > 1 else {})}
        return {**out, **({"output_padding": op} if op else {})}
    if target == "torch":
        if kind in ("same", "valid"):
            ints = [d * (k - 1) // 2 if kind == "same" else 0 for k, d in zip(g.kernel, dil)]
        out = {"stride": strides, "padding": ints}
        if op:
            out["output_padding"] = op
        return {**out, **({"dilation": dil} if any(d > 1 for d in dil) else {}),
                **({"groups": g.groups} if g.groups > 1 else {})}
    if target == "keras":
        mode = kind if kind in ("same", "valid") else ("same" if any(ints) else "valid")
        out = {"strides": strides, "padding": mode}
        if op:
            out["output_padding"] = op
        return {**out, **({"dilation_rate": dil} if any(d > 1 for d in dil) else {})}
    if target == "tf":
        shape = [g.batch, *g.out_size, g.out_channels]
        if kind in ("same", "valid"):
            pad: Any = kind.upper()
        elif kind == "pairs":
            pad = [[0, 0]] + [list(p) for p in sp.pad[1]] + [[0, 0]]
        else:
            pad = "SAME" if any(ints) else "VALID"
        return {"output_shape": shape, "strides": strides, "padding": pad,
                **({"dilations": dil} if any(d > 1 for d in dil) else {})}
    if target == "jax":
        if kind in ("same", "valid"):
            pad = kind.upper()
        elif kind == "pairs":
            pad = [list(p) for p in sp.pad[1]]
        else:
            pad = [[p, p] for p in ints]
        return {"strides": strides, "padding": pad, **({"rhs_dilation": dil} if any(d > 1 for d in dil) else {})}
    out = {"strides": strides, **({"dilations": dil} if any(d > 1 for d in dil) else {}),
           **({"group": g.groups} if g.groups > 1 else {})}
    if kind in ("same", "valid"):
        out["auto_pad"] = "SAME_UPPER" if kind == "same" else "VALID"
    else:
        pairs = sp.pad[1] if kind == "pairs" else [(p, p) for p in ints]
        out["pads"] = [lo for lo, _ in pairs] + [hi for _, hi in pairs]
    if op:
        out["output_padding"] = op
    return out


def naive_port(source: str, args: dict, reading: semantics.Reading, target: str) -> NaivePort:
    g = reading.geometry
    if g.op != "conv_transpose":
        return NaivePort(target, None, True, "")
    try:
        naive_args = render(target, spelling(source, args, g.ndim), g)
    except (TypeError, ValueError, IndexError, KeyError):
        return NaivePort(target, None, True, "")
    shown = ", ".join(f"{k}={v!r}" for k, v in naive_args.items() if k not in ("strides", "stride", "output_shape"))
    try:
        ported = semantics.read_canonical(target, g, naive_args)
    except (semantics.ArgError, semantics.InvalidArguments) as err:
        return NaivePort(target, naive_args, False, f"naive port {target}({shown}): refused: {err}")
    return NaivePort(target, naive_args, *_compare(reading, ported, target, shown))


def _compare(true: semantics.Reading, ported: semantics.Reading, target: str, shown: str) -> tuple[bool, str]:
    g, h = true.geometry, ported.geometry
    flip = true.layout.flipped != ported.layout.flipped
    problems = []
    if h.out_size != g.out_size:
        problems.append(f"output {'x'.join(map(str, h.out_size))} instead of {'x'.join(map(str, g.out_size))} "
                        f"(crop {list(h.crops)} instead of {list(g.crops)})")
    elif h.crops != g.crops:
        shifts = [a.lo - b.lo for a, b in zip(h.axes, g.axes)]
        problems.append(f"same {'x'.join(map(str, g.out_size))} size, shifted by {shifts} "
                        f"(crop {list(h.crops)} instead of {list(g.crops)}: the odd pixel cropped at the other end)")
    if flip:
        problems.append("the kernel spatially flipped (jax's conv_transpose uses the kernel as a forward "
                        "convolution does unless transpose_kernel=True)")
    if not problems:
        return True, f"naive port {target}({shown}): same meaning"
    return False, f"naive port {target}({shown}): " + "; ".join(problems)
