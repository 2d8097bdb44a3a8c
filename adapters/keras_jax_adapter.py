"""Keras 3 on the JAX backend: the Keras adapter in a worker started with KERAS_BACKEND=jax.

Same layers, same arguments and layouts as `keras_adapter` (the TensorFlow backend): differences
between the two are Keras's own backend conversions disagreeing.
"""

from __future__ import annotations

from convtx.adapters.jax_adapter import REFUSALS as XLA_REFUSALS
from convtx.adapters.keras_adapter import KerasSystem


class KerasJaxSystem(KerasSystem):
    """Keras 3 layers on the JAX backend (refusals in XLA's words)."""

    id = "keras-jax"
    install_hint = "pip install '.[keras,jax]'"
    requires = ("keras", "jax")
    env = {"KERAS_BACKEND": "jax", "JAX_ENABLE_X64": "1"}
    refusals = XLA_REFUSALS
