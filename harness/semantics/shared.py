"""Building blocks that several dialects share: padding arithmetic, spelling readers, argument builders.

Nothing here knows a framework by name; each helper is a piece of meaning that more than one
framework happens to spell alike (TF/Keras/ONNX/paddle 'SAME' forward padding, Keras/jax 'same'
and 'valid' transposed crops, torch/paddle `stride`/`dilation`/`groups`), and the small number
formatters the size formulas, naive ports and fuzz spellings of the dialect modules use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from convtx.harness.core.errors import InvalidArguments
from convtx.harness.core.problem import Axis, Geometry, dilated_extent, full_length
from convtx.harness.semantics.common import FuzzDraw, Spelling

__all__ = ["same_forward_pads", "refuse_strided_dilation", "keras_transpose_crop", "compact", "base_args",
           "signed", "axis_values", "per_axis", "per_axis_or_none", "AxisNumbers", "axis_numbers",
           "keras_size_formula", "word_or_pairs", "padding_by_name", "if_dilated", "if_grouped", "draw_pads",
           "draw_extents", "draw_full_lengths"]


# --- padding arithmetic -------------------------------------------------------------------------

def same_forward_pads(i: int, K: int, s: int) -> tuple[int, int]:
    """TF/Keras 'SAME' forward padding: output ceil(i/s), the extra pad element at the end."""
    total = max((-(-i // s) - 1) * s + K - i, 0)
    return total // 2, total - total // 2


def refuse_strided_dilation(strides, dilation, field: str) -> None:
    """Keras layers and tf.nn.convolution refuse strides > 1 together with dilation > 1."""
    if any(s > 1 for s in strides) and any(d > 1 for d in dilation):
        raise InvalidArguments(field, "strides > 1 together with dilation > 1 is refused "
                               f"(strides={list(strides)}, dilation={list(dilation)})")


def keras_transpose_crop(padding: str, K: int, s: int, op: int | None) -> tuple[int, int]:
    """Crop (lo, hi) of Keras's transposed convolution along one axis (see the keras module)."""
    if padding == "valid":
        return (0, -(max(s - K, 0) if op is None else op))
    total = K - s if op is None else K - K % 2 - op
    lo = max(total, 0) // 2
    return lo, total - lo


def compact(values: Iterable[int]) -> int | list[int]:
    """One int when every axis agrees, else the list."""
    values = list(values)
    return values[0] if len(set(values)) == 1 else values


def base_args(g: Geometry) -> dict[str, Any]:
    """stride, and dilation/groups where not 1: spelled alike by torch and paddle."""
    base: dict[str, Any] = {"stride": compact(a.stride for a in g.axes)}
    if any(a.dilation != 1 for a in g.axes):
        base["dilation"] = compact(a.dilation for a in g.axes)
    if g.groups != 1:
        base["groups"] = g.groups
    return base


def per_axis_args(g: Geometry, stride: str, dilation: str, groups: str) -> dict[str, Any]:
    """Strides as a list, and dilations/groups where not 1, under a dialect's own names (Keras, ONNX)."""
    base: dict[str, Any] = {stride: [a.stride for a in g.axes]}
    if any(a.dilation != 1 for a in g.axes):
        base[dilation] = [a.dilation for a in g.axes]
    if g.groups != 1:
        base[groups] = g.groups
    return base


# --- numbers as the size formulas write them ----------------------------------------------------

def signed(v: int) -> str:
    """A number as it reads after a minus sign: 3, or (-1)."""
    return f"({v})" if v < 0 else str(v)


def axis_values(value: Any, n: int, default: Any = 0) -> list:
    """An argument's per-axis values: None -> the default, one value -> n copies, a list as is."""
    if value is None:
        return [default] * n
    if isinstance(value, (int, str)):
        return [value] * n
    return list(value)


@dataclass(frozen=True)
class AxisNumbers:
    """One spatial axis of a transposed convolution, by the letters the size formulas use."""

    i: int  # input length
    k: int  # kernel length
    s: int  # stride
    d: int  # dilation
    K: int  # dilated kernel extent d*(k-1)+1
    out: int  # output length


def axis_numbers(g: Geometry, a: int) -> AxisNumbers:
    ax, k = g.axes[a], g.kernel[a]
    return AxisNumbers(g.in_size[a], k, ax.stride, ax.dilation, dilated_extent(k, ax.dilation), g.out_size[a])


def keras_size_formula(mode: str, op: int | None, x: AxisNumbers) -> str:
    """Keras's 'valid'/'same' output length (jax's SAME/VALID with op None), numbers substituted."""
    i, s, K, out = x.i, x.s, x.K, x.out
    if mode == "valid" and op is None:
        return f"i*s + max(K-s, 0) = {i}*{s} + max({K}-{s}, 0) = {out}  (K = d*(k-1)+1 = {K})"
    if mode == "valid":
        return f"(i-1)*s + K + op = ({i}-1)*{s} + {K} + {op} = {out}  (K = {K})"
    if op is None:
        return f"i*s = {i}*{s} = {out}"
    return f"(i-1)*s + K - 2*(K//2) + op = ({i}-1)*{s} + {K} - 2*{K // 2} + {op} = {out}  (K = {K})"


# --- naive ports: reading a call's padding words and writing another's --------------------------

def per_axis(value: Any, n: int) -> list[int]:
    if value is None:
        return [0] * n
    return [value] * n if isinstance(value, int) else list(value)


def per_axis_or_none(value: Any, n: int) -> list[int] | None:
    return None if value is None else per_axis(value, n)


def word_or_pairs(pad: Any, output_padding: Any, n: int) -> Spelling:
    """A 'same'/'valid' word (any case; another word reads as 'valid') or [lo, hi] pairs (n, or n+2 with
    the batch and channel pairs first and last), as Keras, tf.nn and lax write padding."""
    if isinstance(pad, str):
        word = pad.lower() if pad.lower() in ("same", "valid") else "valid"
        return Spelling((word,), per_axis_or_none(output_padding, n))
    pairs = [tuple(p) for p in pad]
    pairs = pairs[1:-1] if len(pairs) == n + 2 else pairs
    return Spelling(("pairs", pairs), None)


def padding_by_name(sp: Spelling, pairs: Callable[[list], Any], numbers: Callable[[list[int]], Any]) -> Any:
    """A by-name port's padding argument: 'SAME'/'VALID' for a word, else the target's form of the
    [lo, hi] pairs or of the per-axis numbers."""
    if sp.kind in ("same", "valid"):
        return sp.kind.upper()
    return pairs(sp.pad[1]) if sp.kind == "pairs" else numbers(sp.numbers)


def if_dilated(name: str, g: Geometry) -> dict[str, list[int]]:
    """{name: the dilations} where any is above 1, else nothing."""
    dil = [a.dilation for a in g.axes]
    return {name: dil} if any(d > 1 for d in dil) else {}


def if_grouped(name: str, g: Geometry) -> dict[str, int]:
    """{name: groups} where groups is above 1, else nothing."""
    return {name: g.groups} if g.groups > 1 else {}


# --- fuzz spellings -----------------------------------------------------------------------------

def draw_pads(c: FuzzDraw) -> tuple[list[int], list[int]]:
    """The draw's two padding numbers per axis, (lows, highs), as lists."""
    n = c.ndim
    return list(c.pads[:n]), list(c.pads[n:])


def draw_extents(c: FuzzDraw) -> list[int]:
    """K = d*(k-1)+1 per axis."""
    return [dilated_extent(k, d) for k, d in zip(c.kernel, c.dilation)]


def draw_full_lengths(c: FuzzDraw) -> list[int]:
    """The full transposed-convolution output length L per axis."""
    return [full_length(i, k, Axis(s, d, 0, 0)) for i, k, s, d in zip(c.size, c.kernel, c.stride, c.dilation)]
