"""The trap: what a naive port produces when a call's numbers are carried over *by name*.

A person porting `ConvTranspose2d(k=3, stride=2, padding=1, output_padding=1)` to Keras writes
`padding='same', output_padding=1`; to jax, `padding=((1, 1), (1, 1))`.  `naive_port(...)` builds
those arguments (the layout converted correctly, the meaning not), reads them back through the
target's dialect, and says how the result differs from the case's meaning: other size, crop at
the other end (a shift), a flipped kernel, or a call the target refuses.  These are semantics
notes, never framework failures.  How each framework's padding reads and is written by name is
its dialect's (`Dialect.spelling`, `Dialect.naive_args`); this module compares the meanings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convtx.harness import semantics
from convtx.harness.core.problem import Geometry
from convtx.harness.semantics.common import Spelling

__all__ = ["NaivePort", "Spelling", "naive_port", "render", "spelling"]


@dataclass(frozen=True)
class NaivePort:
    target: str
    args: dict[str, Any] | None
    same_meaning: bool
    note: str


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
    shown = ", ".join(f"{k}={v!r}" for k, v in naive_args.items() if k not in ("strides", "stride", "output_shape"))
    try:
        ported = semantics.read_canonical(target, g, naive_args)
    except (semantics.ArgError, semantics.InvalidArguments) as err:
        return NaivePort(target, naive_args, False, f"naive port {target}({shown}): refused: {err}")
    return NaivePort(target, naive_args, *_compare(reading, ported, (source, target), shown))


def _compare(true: semantics.Reading, ported: semantics.Reading, names: tuple[str, str],
             shown: str) -> tuple[bool, str]:
    """(same meaning, note) of the port from names[0] to names[1] read back as `ported`."""
    (source, target), g, h = names, true.geometry, ported.geometry
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
        flipper = semantics.DIALECTS[source if true.layout.flipped else target]
        problems.append(f"the kernel spatially flipped ({flipper.flip_note})")
    if not problems:
        return True, f"naive port {target}({shown}): same meaning"
    return False, f"naive port {target}({shown}): " + "; ".join(problems)
