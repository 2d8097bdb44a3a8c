"""Hints for a case its framework cannot read: when its tensors fit another framework's layouts.

A Keras case written with torch's (C_in, C_out, kh, kw) kernel fails on channel counts or sizes;
the message then says "the tensors fit torch's layouts" and which layouts the case's framework
wants.  Tried only after the case failed, with each other dialect's default layouts.
"""

from __future__ import annotations

from convtx.harness import semantics
from convtx.harness.caseformat.case import Case
from convtx.harness.core.errors import ArgumentProblem
from convtx.harness.semantics.common import Layout, canonical_weight_roles, channels_first


def layout_hint(case: Case) -> str:
    """' (the tensors fit X's layouts: ...; Y wants ...)', or '' when no other layout reads."""
    ndim = len(case.input.shape) - 2
    own = _layout(case.framework, case.op, ndim, dict(case.args))
    if own is None or len(case.weight.shape) != len(case.input.shape):
        return ""
    for name in semantics.FRAMEWORKS:
        other = _layout(name, case.op, ndim, None)
        if name == case.framework or other is None or (other.input, other.weight) == (own.input, own.weight):
            continue
        if _reads(case, own, other, ndim):
            return (f" (the tensors fit {name}'s layouts: {other.describe()}; {case.framework} wants "
                    f"{own.describe()})")
    return ""


def _layout(framework: str, op: str, ndim: int, args: dict | None) -> Layout | None:
    """A dialect's layout for these args (None: its defaults), or None where it has no such op."""
    dialect = semantics.DIALECTS[framework]
    if op not in dialect.ops or ndim not in (1, 2, 3):
        return None
    try:
        return dialect.layout(op, {**dialect.ops[op], **(args or {})}, ndim)
    except (ArgumentProblem, KeyError, TypeError, ValueError):
        return None


def _reads(case: Case, own: Layout, other: Layout, ndim: int) -> bool:
    """Whether the case's framework reads its arguments with the tensors taken as laid out by `other`."""
    acts, roles = channels_first(ndim), canonical_weight_roles(case.op, ndim)
    x = semantics.shape_in(semantics.shape_in(case.input.shape, other.input, acts), acts, own.input)
    w = semantics.shape_in(semantics.shape_in(case.weight.shape, other.weight, roles), roles, own.weight)
    bias = case.bias.shape if case.bias is not None else None
    try:
        semantics.read(case.framework, case.op, case.args, x, w, case.bias is not None, bias)
    except ArgumentProblem:
        return False
    return True
