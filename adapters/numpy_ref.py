"""The `numpy` system: the NumPy reference (harness/core/reference.py), run in convtx's own process.

It takes the canonical problem itself (dialect `canonical`: the crop per axis as arguments, torch's
layouts), so every case reaches it through the same plan -> call -> verdict path as any framework.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from convtx.adapters.contract import CANONICAL, System
from convtx.harness.core import reference
from convtx.harness.core.problem import Problem, geometry_from


class ReferenceSystem(System):
    """The crop model in NumPy, float64 accumulation (always available)."""

    id = "numpy"
    dialect = CANONICAL
    install_hint = "numpy is a core dependency"
    capabilities = frozenset({"in_process"})

    def version(self) -> str:
        return np.__version__

    def environment(self, device: str = "cpu") -> dict[str, Any]:
        return {"device": "cpu", "accumulate": "float64"}

    def code(self, op: str, args: Mapping[str, Any], x_shape, w_shape, has_bias: bool) -> str:
        g = geometry_from(op, dict(args), tuple(x_shape), tuple(w_shape), has_bias)
        return f"convtx.harness.core.reference.compute(problem)  # {g.describe()}"

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        g = geometry_from(op, dict(args), x.shape, w.shape, b is not None)
        return reference.compute(Problem(g, x, w, b, dtype))
