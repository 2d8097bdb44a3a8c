"""The adapter contract, shared by every system convtx runs a case through.

An adapter is a module with:
- `ID` (registry id) and `INSTALL_HINT` (what to pip install when it is missing);
- `available() -> bool` (may import its framework: only ever called inside a worker) and
  `version() -> str`;
- `translate(geometry, dtype) -> NativeCall | NotExpressible`: the native call that means the
  canonical problem, as code a user could paste, plus how the weight is converted;
- `run(call, problem) -> np.ndarray`: executes the call and returns the output in the canonical
  layout (N, C_out, *spatial), as float64 values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class NativeCall:
    """A framework call that computes a canonical problem."""

    framework: str
    code: str  # paste-able call text
    weight_conversion: str  # e.g. "w_tf = w.transpose(2, 3, 1, 0)"
    params: dict[str, Any] = field(default_factory=dict)  # adapter-private data for run()


@dataclass(frozen=True)
class NotExpressible:
    """Why a canonical problem has no exact equivalent in a framework."""

    framework: str
    reason: str


def render_call(fn: str, positional: list[str], kwargs: dict[str, Any]) -> str:
    """`fn(x, w, stride=2, padding=[1, 0])` - a call a user could paste."""
    parts = list(positional) + [f"{k}={_literal(v)}" for k, v in kwargs.items()]
    return f"{fn}({', '.join(parts)})"


def _literal(value: Any) -> str:
    return repr(value)


def module_available(name: str) -> bool:
    """True when `name` can be imported, without importing it."""
    import importlib.util
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def given(args: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """The arguments worth writing: without None values and without `drop`."""
    return {k: v for k, v in args.items() if v is not None and k not in drop}
