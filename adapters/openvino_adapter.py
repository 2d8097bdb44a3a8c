"""OpenVINO: a model compiled for OpenVINO's CPU plugin, from ONNX or from the torch module.

- `openvino` (onnx dialect): the one-node ConvTranspose / Conv model every ONNX system builds
  (`onnx_common.build_model`), read by OpenVINO's ONNX frontend (`Core.read_model`);
- `openvino-torch` (torch dialect): the torch module the `torch` system runs, converted by
  `openvino.convert_model(module, example_input=x)` (OpenVINO's PyTorch frontend).
Both are compiled for the CPU plugin with `INFERENCE_PRECISION_HINT` f32: on a CPU with bfloat16
instructions the plugin's default is bf16 (recorded in the environment as `default_precision_hint`),
which would compare a float32 call at bfloat16's precision.  The CPU plugin has no float64 kernels: a
float64 model runs in float32 (`api_limit`).
`import openvino` starts OpenVINO's usage telemetry (openvino-telemetry: a client id in ~/intel, events
for convert_model) unless told not to: its opt-out is a consent file in the user's home, or a CI
environment (`disable_in_ci`); both workers start with CI=true, so that a conformance run writes nothing
to the user's home and sends nothing anywhere.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from convtx.adapters.contract import System
from convtx.adapters.onnx_common import OnnxSystem, build_model
from convtx.adapters.torch_onnx_adapter import torch_module

# OpenVINO's own words for "no conversion/kernel for this here" (the verdict is `unsupported`)
REFUSALS: tuple[str, ...] = (
    r"OpenVINO does not support the following ONNX operations",
    r"Unsupported operation",
    r"[Nn]ot supported (operation|precision|by the CPU plugin)",
    r"doesn't support .* precision",
)
_PRECISION = "f32"
_CORE: list = []


def openvino() -> Any:
    """The openvino module (imported by name: it ships no type information)."""
    import importlib
    return importlib.import_module("openvino")


def core():
    if not _CORE:
        _CORE.append(openvino().Core())
    return _CORE[0]


def run_compiled(model, x: np.ndarray, dtype: str) -> np.ndarray:
    compiled = core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": _PRECISION})
    out = compiled(np.ascontiguousarray(x, dtype=dtype))[compiled.output(0)]
    return np.asarray(out, dtype=np.float64)


class _OpenVinoCommon(System):
    install_hint = "pip install '.[openvino]'"
    env = {"CI": "true"}  # OpenVINO's telemetry is off in CI (init_ovc_telemetry(disable_in_ci=True))
    refusals = REFUSALS

    def version(self) -> str:
        return openvino().get_version().split("-")[0]

    def environment(self, device: str = "cpu") -> dict[str, Any]:
        cpu = core()
        return {"device": "cpu", "openvino": openvino().get_version(),
                "cpu": cpu.get_property("CPU", "FULL_DEVICE_NAME"),
                "default_precision_hint": str(cpu.get_property("CPU", "INFERENCE_PRECISION_HINT")),
                "precision_hint": _PRECISION}

    def api_limit(self, op: str, geometry: Any, dtype: str, args: Mapping[str, Any]) -> str | None:
        if dtype in ("float64", "bfloat16"):
            return (f"OpenVINO's CPU plugin has no {dtype} kernels: a {dtype} model is converted and computed in "
                    "float32 (the plugin's supported precisions are f32, bf16, f16 and integers)")
        return None


class OpenVinoSystem(_OpenVinoCommon, OnnxSystem):
    """The one-node ONNX model, read by OpenVINO's ONNX frontend and compiled for the CPU plugin."""

    id = "openvino"
    requires = ("openvino", "onnx")
    install_hint = "pip install '.[openvino]'"

    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str:
        return (OnnxSystem.code(self, op, args, x_shape, w_shape, has_bias)
                + " -> ov.Core().read_model(onnx bytes) -> compile_model('CPU', INFERENCE_PRECISION_HINT='f32')")

    def api_limit(self, op: str, geometry: Any, dtype: str, args: Mapping[str, Any]) -> str | None:
        return _OpenVinoCommon.api_limit(self, op, geometry, dtype, args)

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        onnx_model = build_model(op, args, x, w, b, dtype)
        model = core().read_model(onnx_model.SerializeToString(), openvino().Tensor(np.empty(0, np.uint8)))
        return run_compiled(model, x, dtype)


class OpenVinoTorchSystem(_OpenVinoCommon):
    """The torch module converted by openvino.convert_model (PyTorch frontend), compiled for the CPU plugin."""

    id = "openvino-torch"
    dialect = "torch"
    requires = ("openvino", "torch")

    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str:
        from convtx.adapters.torch_adapter import TorchSystem
        call = TorchSystem().code(op, args, x_shape, w_shape, has_bias).split("  #")[0]
        module = call[:-len("(x)")] if call.endswith("(x)") else f"<module: forward(x) = {call}>"
        return (f"ov.convert_model({module}, example_input=x) -> compile_model('CPU', INFERENCE_PRECISION_HINT='f32')"
                f"  # weight = w{'; bias = b' if has_bias else ''}")

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        import torch

        module = torch_module(op, args, x.shape, w, b, dtype)
        example = torch.as_tensor(x, dtype=getattr(torch, dtype))
        model = openvino().convert_model(module, example_input=example)
        return run_compiled(model, x, dtype)
