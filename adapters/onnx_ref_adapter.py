"""ONNX reference evaluator adapter (onnx.reference.ReferenceEvaluator): a second, independent
reference written from the ONNX spec.  Where it and the NumPy reference disagree, the report says so.
"""

from __future__ import annotations

import numpy as np

from convtx.adapters.base import module_available
from convtx.adapters.onnx_common import build_model, code, unsupported_dtype  # noqa: F401  (code is part of the contract)

ID = "onnx-ref"
DIALECT = "onnx"
INSTALL_HINT = "pip install '.[onnx]'"
ENV: dict[str, str] = {}
REFUSALS: tuple[str, ...] = ()


def available() -> bool:
    return module_available("onnx")


def version() -> str:
    import onnx
    return onnx.__version__


def environment(device: str = "cpu") -> dict:
    return {"device": "cpu", "evaluator": "onnx.reference.ReferenceEvaluator"}


def call(op: str, args: dict, x: np.ndarray, w: np.ndarray, b, dtype: str, device: str = "cpu") -> np.ndarray:
    from onnx.reference import ReferenceEvaluator

    model = build_model(op, args, x, w, b, dtype)
    (out,) = ReferenceEvaluator(model).run(None, {"x": x.astype(dtype)})
    return np.asarray(out, dtype=np.float64)


def api_limit(op: str, geometry, dtype: str, args: dict) -> str | None:
    return unsupported_dtype("the ONNX reference evaluator", op, dtype, ())
