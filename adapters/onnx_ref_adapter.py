"""ONNX reference evaluator adapter (onnx.reference.ReferenceEvaluator): a second, independent
reference written from the ONNX spec.  Where it and the NumPy reference disagree, the report says so.
"""

from __future__ import annotations

import numpy as np

from convtx.adapters.contract import System, module_available
from convtx.adapters.onnx_common import build_model, onnx_code, unsupported_dtype

ID = "onnx-ref"
DIALECT = "onnx"
INSTALL_HINT = "pip install '.[onnx]'"
ENV: dict[str, str] = {}
REFUSALS: tuple[str, ...] = ()


class OnnxRefSystem(System):
    """ONNX reference evaluator adapter (onnx.reference.ReferenceEvaluator): a second, independent"""

    id = ID
    dialect = DIALECT
    install_hint = INSTALL_HINT
    requires = ('onnx',)
    env = ENV
    refusals = REFUSALS

    def version(self) -> str:
        import onnx
        return onnx.__version__

    def environment(self, device: str = "cpu") -> dict:
        return {"device": "cpu", "evaluator": "onnx.reference.ReferenceEvaluator"}

    def code(self, op: str, args: dict, x_shape, w_shape, has_bias: bool) -> str:
        return onnx_code(op, args, x_shape, w_shape, has_bias)

    def call(self, op: str, args: dict, x: np.ndarray, w: np.ndarray, b, dtype: str, device: str = "cpu") -> np.ndarray:
        from onnx.reference import ReferenceEvaluator

        model = build_model(op, args, x, w, b, dtype)
        (out,) = ReferenceEvaluator(model).run(None, {"x": x.astype(dtype)})
        return np.asarray(out, dtype=np.float64)

    def api_limit(self, op: str, geometry, dtype: str, args: dict) -> str | None:
        return unsupported_dtype("the ONNX reference evaluator", op, dtype, ())
