"""onnxruntime: a one-node ConvTranspose / Conv model run on the CPU execution provider.

Speaks the onnx dialect (the spec's meaning): pads, output_padding, output_shape, auto_pad,
dilations, group; weights (C_in, C_out/group, *k), as torch.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from convtx.adapters.contract import Variant
from convtx.adapters.onnx_common import OnnxSystem, build_model


class OnnxRuntimeSystem(OnnxSystem):
    """onnxruntime's CPU (or CUDA) execution provider on a one-node model."""

    id = "onnxruntime"
    requires = ("onnxruntime", "onnx")
    # onnxruntime's words for "this build/provider has no kernel for the node" (the verdict is `unsupported`)
    refusals = (r"NOT_IMPLEMENTED", r"Could not find an implementation for")
    variants = {"cuda": Variant("the CUDA execution provider", device="cuda")}

    def unavailable(self, device: str) -> str | None:
        import onnxruntime as ort
        if device == "cuda" and "CUDAExecutionProvider" not in ort.get_available_providers():
            return f"no CUDAExecutionProvider in this onnxruntime build (it has {ort.get_available_providers()})"
        return None

    def version(self) -> str:
        import onnxruntime
        return onnxruntime.__version__

    def environment(self, device: str = "cpu") -> dict[str, Any]:
        import onnx
        provider = "CUDAExecutionProvider" if device == "cuda" else "CPUExecutionProvider"
        return {"device": device, "provider": provider, "onnx": onnx.__version__}

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        import onnxruntime as ort

        model = build_model(op, args, x, w, b, dtype)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        providers = ["CUDAExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
        session = ort.InferenceSession(model.SerializeToString(), options, providers=providers)
        (out,) = session.run(None, {"x": x.astype(dtype)})
        return np.asarray(out, dtype=np.float64)
