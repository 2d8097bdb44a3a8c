"""onnxruntime adapter: a one-node ConvTranspose / Conv model run on the CPU execution provider.

Speaks the onnx dialect (the spec's meaning): pads, output_padding, output_shape, auto_pad,
dilations, group; weights (C_in, C_out/group, *k), as torch.
"""

from __future__ import annotations

import numpy as np

from convtx.adapters.contract import System, module_available
from convtx.adapters.onnx_common import build_model, onnx_code, unsupported_dtype

ID = "onnxruntime"
DIALECT = "onnx"
INSTALL_HINT = "pip install '.[onnx]'"
ENV: dict[str, str] = {}
# onnxruntime's words for "this build/provider has no kernel for the node" (the verdict is `unsupported`)
REFUSALS = (r"NOT_IMPLEMENTED", r"Could not find an implementation for")


class OnnxRuntimeSystem(System):
    """onnxruntime adapter: a one-node ConvTranspose / Conv model run on the CPU execution provider."""

    id = ID
    dialect = DIALECT
    install_hint = INSTALL_HINT
    requires = ('onnxruntime', 'onnx')
    env = ENV
    refusals = REFUSALS

    def version(self) -> str:
        import onnxruntime
        return onnxruntime.__version__

    def environment(self, device: str = "cpu") -> dict:
        import onnx
        provider = "CUDAExecutionProvider" if device == "cuda" else "CPUExecutionProvider"
        return {"device": device, "provider": provider, "onnx": onnx.__version__}

    def code(self, op: str, args: dict, x_shape, w_shape, has_bias: bool) -> str:
        return onnx_code(op, args, x_shape, w_shape, has_bias)

    def call(self, op: str, args: dict, x: np.ndarray, w: np.ndarray, b, dtype: str, device: str = "cpu") -> np.ndarray:
        import onnxruntime as ort

        model = build_model(op, args, x, w, b, dtype)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        providers = ["CUDAExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
        session = ort.InferenceSession(model.SerializeToString(), options, providers=providers)
        (out,) = session.run(None, {"x": x.astype(dtype)})
        return np.asarray(out, dtype=np.float64)

    def api_limit(self, op: str, geometry, dtype: str, args: dict) -> str | None:
        """What the ONNX format cannot say (a build's missing kernels are refusals, see REFUSALS)."""
        return unsupported_dtype("onnxruntime", op, dtype, ())
