"""Keras 3 on the PyTorch backend: the Keras adapter in a worker started with KERAS_BACKEND=torch.

Same layers, same arguments and layouts as `keras_adapter` (the TensorFlow backend): differences
between the two are Keras's own backend conversions disagreeing.
"""

from __future__ import annotations

from convtx.adapters.keras_adapter import KerasSystem
from convtx.adapters.torch_adapter import REFUSALS as TORCH_REFUSALS


class KerasTorchSystem(KerasSystem):
    """Keras 3 layers on the PyTorch backend (refusals in torch's words)."""

    id = "keras-torch"
    install_hint = "pip install '.[keras,torch]'"
    requires = ("keras", "torch")
    env = {"KERAS_BACKEND": "torch"}
    refusals = TORCH_REFUSALS
