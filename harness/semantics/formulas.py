"""Output-size formulas, as each framework's documentation writes them, with the numbers filled in.

`formula(framework, args, g, axis)` gives e.g. `(i-1)*s - 2*p + d*(k-1) + op + 1 = (3-1)*2 - 2*1 + 1*(3-1) + 1 + 1 = 6`
for each spatial axis: the same output length, reached through each framework's own arguments.  The
framework's own formula is its dialect's (`Dialect.size_formula`, transposed convolutions only); this
module owns the canonical ones every other case falls back to.
"""

from __future__ import annotations

from typing import Any, Mapping

from convtx.harness import semantics
from convtx.harness.core.problem import Geometry, dilated_extent, full_length
from convtx.harness.semantics.shared import signed


def formula(framework: str, args: Mapping[str, Any], g: Geometry, axis: int) -> str:
    """The framework's output-size formula for one axis, numbers substituted."""
    dialect = semantics.DIALECTS.get(framework)
    if dialect is not None and g.op == "conv_transpose":
        try:
            text = dialect.size_formula(args, g, axis)
        except (KeyError, IndexError, TypeError, ValueError):
            text = None
        if text is not None:
            return text
    return _model(g, axis)


def _model(g: Geometry, axis: int) -> str:
    """The crop model's output length for one axis (a conv: its padded-input formula)."""
    ax, i, k = g.axes[axis], g.in_size[axis], g.kernel[axis]
    if g.op == "conv":
        K = dilated_extent(k, ax.dilation)
        return (f"floor((i + lo + hi - K)/s) + 1 = floor(({i} + {signed(ax.lo)} + {signed(ax.hi)} - {K})/{ax.stride})"
                f" + 1 = {g.out_size[axis]}")
    L = full_length(i, k, ax)
    return f"L - lo - hi = {L} - {signed(ax.lo)} - {signed(ax.hi)} = {g.out_size[axis]}"


def canonical(g: Geometry, axis: int) -> str:
    """The crop model's own formula for one axis."""
    ax, i, k = g.axes[axis], g.in_size[axis], g.kernel[axis]
    if g.op == "conv":
        return _model(g, axis)
    L = full_length(i, k, ax)
    return (f"L = (i-1)*s + d*(k-1) + 1 = ({i}-1)*{ax.stride} + {ax.dilation}*({k}-1) + 1 = {L}; "
            f"O = L - lo - hi = {L} - {signed(ax.lo)} - {signed(ax.hi)} = {g.out_size[axis]}")
