"""Keras 3 on the PyTorch backend: the Keras adapter in a worker started with KERAS_BACKEND=torch.

Same layers, same arguments and layouts as `keras_adapter` (the TensorFlow backend): differences
between the two are Keras's own backend conversions disagreeing (keras-team/keras#20949 and
PR #22876 were such: 'same' padding on the torch backend).
"""

from __future__ import annotations

from convtx.adapters.base import module_available
from convtx.adapters.torch_adapter import REFUSALS  # noqa: F401  (the torch backend refuses in torch's words)
from convtx.adapters.keras_adapter import DIALECT, _layer, call, code, environment, version  # noqa: F401  (the adapter contract)

ID = "keras-torch"
INSTALL_HINT = "pip install '.[keras,torch]'"
ENV = {"KERAS_BACKEND": "torch"}


def available() -> bool:
    return module_available("keras") and module_available("torch")
