"""Keras 3: Conv{1,2,3}DTranspose / Conv{1,2,3}D layers, weights set with set_weights, on each backend.

Speaks the keras dialect (channels_last by default; kernels (*k, C_out, C_in) for the transposed
layers, (*k, C_in/g, C_out) for Conv).  The backend is fixed per process by KERAS_BACKEND, so
each backend is its own system in its own worker: `keras` (TensorFlow), `keras-jax`, `keras-torch`;
differences between them are Keras's own backend conversions disagreeing.  Each refuses in its
backend's words.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from convtx.adapters.contract import System, given, module_available, render_call
from convtx.adapters.jax_adapter import REFUSALS as XLA_REFUSALS
from convtx.adapters.tf_adapter import ONEDNN_VARIANTS, REFUSALS as TF_REFUSALS
from convtx.adapters.torch_adapter import REFUSALS as TORCH_REFUSALS
_SIZE_ARGS = ("filters", "kernel_size")


def _class(op: str, ndim: int) -> str:
    return f"Conv{ndim}DTranspose" if op == "conv_transpose" else f"Conv{ndim}D"


def _layer_kwargs(op: str, args: Mapping[str, Any], w_shape) -> dict:
    ndim = len(w_shape) - 2
    groups = args.get("groups") or 1
    filters = w_shape[-2] if op == "conv_transpose" else w_shape[-1]
    kwargs = {"filters": filters, "kernel_size": list(w_shape[:ndim])}
    kwargs.update(given(args, _SIZE_ARGS))
    if op == "conv" and groups == 1:
        kwargs.pop("groups", None)
    return kwargs


_LAYERS: dict = {}  # same call, same shapes: the built layer is reused, only its weights are set


def _layer(op: str, args: Mapping[str, Any], x_shape, w_shape, has_bias: bool, dtype: str):
    import keras

    key = (op, repr(sorted(args.items())), tuple(x_shape), tuple(w_shape), has_bias, dtype)
    if key not in _LAYERS:
        if len(_LAYERS) > 256:
            _LAYERS.clear()
        kwargs = _layer_kwargs(op, args, w_shape)
        layer = getattr(keras.layers, _class(op, len(x_shape) - 2))(use_bias=has_bias, dtype=dtype, **kwargs)
        layer.build(tuple(x_shape))
        _LAYERS[key] = layer
    return _LAYERS[key]


class KerasSystem(System):
    """Keras 3 adapter: Conv{1,2,3}DTranspose / Conv{1,2,3}D layers, weights set with set_weights."""

    id = "keras"
    dialect = "keras"
    install_hint = "pip install '.[keras]'"
    requires = ("keras", "tensorflow")
    env = {"KERAS_BACKEND": "tensorflow"}
    refusals = TF_REFUSALS
    variants = ONEDNN_VARIANTS

    def version(self) -> str:
        import keras
        return f"{keras.__version__} ({keras.backend.backend()} backend)"

    def environment(self, device: str = "cpu") -> dict:
        import keras
        env = {"device": device, "backend": keras.backend.backend(), "floatx": keras.backend.floatx()}
        if keras.backend.backend() == "tensorflow":
            from convtx.adapters.tf_adapter import cpu_flag, onednn_enabled
            env.update(onednn=onednn_enabled(), cpu_avx512f=cpu_flag("avx512f"))
        return env

    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str:
        ndim = len(x_shape) - 2
        kwargs = _layer_kwargs(op, args, w_shape)
        kwargs = {k: v for k, v in kwargs.items() if not (k in ("strides", "dilation_rate") and v in (1, [1] * ndim))
                  and not (k == "data_format" and v == "channels_last")}
        kwargs["use_bias"] = has_bias
        layer = render_call(f"keras.layers.{_class(op, ndim)}", [], kwargs)
        weights = "[w, b]" if has_bias else "[w]"
        return f"layer = {layer}; layer.build({tuple(x_shape)}); layer.set_weights({weights}); layer(x)"

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        import keras

        with keras.device("gpu:0" if device == "cuda" else "cpu:0"):
            layer = _layer(op, args, x.shape, w.shape, b is not None, dtype)
            host = "float32" if dtype == "bfloat16" else dtype
            layer.set_weights([w.astype(host)] + ([b.astype(host)] if b is not None else []))
            out = layer(keras.ops.convert_to_tensor(x, dtype=dtype))
            return np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(out, "float64")))


class KerasJaxSystem(KerasSystem):
    """Keras 3 layers on the JAX backend."""

    id = "keras-jax"
    install_hint = "pip install '.[keras,jax]'"
    requires = ("keras", "jax")
    env = {"KERAS_BACKEND": "jax", "JAX_ENABLE_X64": "1"}
    cache_env = {"JAX_COMPILATION_CACHE_DIR": "{cache}/jax", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                 "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}  # every compiled shape, however small
    refusals = XLA_REFUSALS
    variants = {}


class KerasTorchSystem(KerasSystem):
    """Keras 3 layers on the PyTorch backend."""

    id = "keras-torch"
    install_hint = "pip install '.[keras,torch]'"
    requires = ("keras", "torch")
    env = {"KERAS_BACKEND": "torch"}
    refusals = TORCH_REFUSALS
    variants = {}
