"""Keras 3 on the JAX backend: the Keras adapter in a worker started with KERAS_BACKEND=jax.

Same layers, same arguments and layouts as `keras_adapter` (the TensorFlow backend): differences
between the two are Keras's own backend conversions disagreeing.
"""

from __future__ import annotations

from convtx.adapters.base import module_available
from convtx.adapters.jax_adapter import REFUSALS  # noqa: F401  (the jax backend refuses in XLA's words)
from convtx.adapters.keras_adapter import DIALECT, _layer, call, code, environment, version  # noqa: F401  (the adapter contract)

ID = "keras-jax"
INSTALL_HINT = "pip install '.[keras,jax]'"
ENV = {"KERAS_BACKEND": "jax", "JAX_ENABLE_X64": "1"}


def available() -> bool:
    return module_available("keras") and module_available("jax")
