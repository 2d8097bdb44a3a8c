"""The ONNX reference evaluator (onnx.reference.ReferenceEvaluator): a second, independent reference
written from the ONNX spec.  Where it and the NumPy reference disagree, the report says so.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from convtx.adapters.onnx_common import OnnxSystem, build_model


class OnnxRefSystem(OnnxSystem):
    """onnx.reference.ReferenceEvaluator on a one-node model (pure NumPy, always the CPU)."""

    id = "onnx-ref"
    requires = ("onnx",)

    def version(self) -> str:
        import onnx
        return onnx.__version__

    def environment(self, device: str = "cpu") -> dict[str, Any]:
        return {"device": "cpu", "evaluator": "onnx.reference.ReferenceEvaluator"}

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        from onnx.reference import ReferenceEvaluator

        model = build_model(op, args, x, w, b, dtype)
        (out,) = ReferenceEvaluator(model).run(None, {"x": x.astype(dtype)})
        return np.asarray(out, dtype=np.float64)
