"""Registry of the systems convtx can run a case through: a plain dict of id -> adapter module.

Modules are imported lazily (`load(id)`), and each adapter imports its framework only inside its
own functions, so importing convtx never imports a framework.
"""

from __future__ import annotations

import importlib
from types import ModuleType

ADAPTERS: dict[str, str] = {
    "numpy": "convtx.adapters.numpy_ref",
    "torch": "convtx.adapters.torch_adapter",
    "keras": "convtx.adapters.keras_adapter",
    "keras-jax": "convtx.adapters.keras_jax_adapter",
    "keras-torch": "convtx.adapters.keras_torch_adapter",
    "tf": "convtx.adapters.tf_adapter",
    "jax": "convtx.adapters.jax_adapter",
    "onnxruntime": "convtx.adapters.onnxruntime_adapter",
    "onnx-ref": "convtx.adapters.onnx_ref_adapter",
    "paddle": "convtx.adapters.paddle_adapter",
    "tinygrad": "convtx.adapters.tinygrad_adapter",
    "flax": "convtx.adapters.flax_adapter",
}

# Which adapter renders each dialect's call text in `convtx translate`.
DIALECT_ADAPTER = {"torch": "torch", "keras": "keras", "tf": "tf", "jax": "jax", "onnx": "onnxruntime",
                   "paddle": "paddle"}

REFERENCE = "numpy"


def load(adapter_id: str) -> ModuleType:
    try:
        return importlib.import_module(ADAPTERS[adapter_id])
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise KeyError(f"unknown framework {adapter_id!r} (known: {known})") from None
