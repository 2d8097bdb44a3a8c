"""TensorFlow adapter: tf.nn.conv{1,2,3}d_transpose and tf.nn.convolution.

Speaks the tf dialect: output_shape (required for the transposed op: it picks among the `stride`
sizes one input can come from), 'SAME' / 'VALID' / explicit padding, filters (*k, C_out, C_in)
for the transposed op and (*k, C_in/g, C_out) for convolution.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import numpy as np

from convtx.adapters.contract import System, Variant, given, module_available, render_call

# TensorFlow's own words when this build/device has no kernel for a call (the verdict is `unsupported`):
# the CPU kernels without oneDNN refuse dilation (tensorflow/tensorflow#28264, #69103) and channels-first
# transposed convolutions (#20405); the CPU has no input gradient for grouped convolutions (#50392); an op
# with no kernel registered at all is Unimplemented.
REFUSALS: tuple[str, ...] = (
    r"Current CPU implementations? do(es)? not yet support",
    r"only supports NHWC",
    r"Gradients for grouped convolutions are not supported on CPU",
    r"^UnimplementedError",
    r"No OpKernel was registered to support Op",
)
# oneDNN on or off: TensorFlow picks its CPU kernels by this variable (and the CPU) at import time.
ONEDNN_VARIANTS = {
    "onednn=0": Variant("TensorFlow's own CPU kernels (oneDNN off)", env={"TF_ENABLE_ONEDNN_OPTS": "0"}),
    "onednn=1": Variant("oneDNN's CPU kernels", env={"TF_ENABLE_ONEDNN_OPTS": "1"}),
    "gpu": Variant("on the first GPU", device="cuda"),
}


def onednn_enabled() -> bool:
    """Whether TensorFlow runs its oneDNN (MKL) CPU kernels in this process (a build and CPU decision)."""
    from tensorflow.python.util import _pywrap_util_port
    return bool(_pywrap_util_port.IsMklEnabled())


def cpu_flag(name: str) -> bool | None:
    """Whether the CPU has an instruction-set flag (Linux /proc/cpuinfo; None where unknown)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            return any(name in line.split() for line in fh if line.startswith("flags"))
    except OSError:
        return None


def _fn(op: str, ndim: int) -> str:
    if op == "conv_transpose":
        return f"tf.nn.conv{ndim}d_transpose"
    return "tf.nn.conv2d" if ndim == 2 else "tf.nn.convolution"  # only conv2d takes explicit padding


def _kwargs(args: Mapping[str, Any]) -> dict:
    return given(args)


def tf_call(op: str, ndim: int, xt: Any, wt: Any, kwargs: Mapping[str, Any]) -> Any:
    """The tf.nn function for an op and rank, called (tf.nn.conv2d: only it takes explicit padding)."""
    import tensorflow as tf
    if op == "conv_transpose":
        return getattr(tf.nn, f"conv{ndim}d_transpose")(xt, wt, **kwargs)
    if ndim == 2:
        return tf.nn.conv2d(xt, wt, **kwargs)
    return tf.nn.convolution(xt, wt, **kwargs)


class TfSystem(System):
    """TensorFlow adapter: tf.nn.conv{1,2,3}d_transpose and tf.nn.convolution."""

    id = "tf"
    dialect = "tf"
    install_hint = "pip install '.[tf]'"
    requires = ("tensorflow",)
    env = {"TF_CPP_MIN_LOG_LEVEL": "2"}
    refusals = REFUSALS
    capabilities = frozenset({"gradient"})
    variants = ONEDNN_VARIANTS

    def version(self) -> str:
        import tensorflow as tf
        return tf.__version__

    def unavailable(self, device: str) -> str | None:
        import tensorflow as tf
        if device == "cuda" and not tf.config.list_physical_devices("GPU"):
            return "no GPU here (tf.config.list_physical_devices('GPU') is empty)"
        return None

    def environment(self, device: str = "cpu") -> dict:
        import tensorflow as tf
        return {"device": device, "onednn": onednn_enabled(), "cpu_avx512f": cpu_flag("avx512f"),
                "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
                "tensor_float_32_execution": bool(tf.config.experimental.tensor_float_32_execution_enabled())}

    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str:
        ndim = len(x_shape) - 2
        kwargs = {k: v for k, v in _kwargs(args).items() if not (k == "dilations" and v in (1, [1] * ndim))}
        text = render_call(_fn(op, ndim), ["x", "w"], kwargs)
        return f"tf.nn.bias_add({text}, b)" if has_bias else text

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        import tensorflow as tf

        ndim = x.ndim - 2
        kwargs = _kwargs(args)
        padding = kwargs.get("padding")
        if isinstance(padding, list):
            kwargs["padding"] = [list(p) for p in padding]
        tdtype = getattr(tf, dtype)
        with tf.device("/CPU:0" if device == "cpu" else "/GPU:0"):
            xt, wt = tf.constant(x, dtype=tdtype), tf.constant(w, dtype=tdtype)
            out = tf_call(op, ndim, xt, wt, kwargs)
            if b is not None:
                fmt = kwargs.get("data_format") or ""
                out = tf.nn.bias_add(out, tf.constant(b, dtype=tdtype),
                                     data_format="NC..." if fmt.startswith("NC") else None)
            return tf.cast(out, tf.float64).numpy()

    def input_gradient(self, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, cotangent: np.ndarray, dtype: str,
                       device: str = "cpu") -> np.ndarray:
        """d<conv(x, w), cotangent>/dx by tf.GradientTape (args: tf.nn.conv2d / tf.nn.convolution's)."""
        import tensorflow as tf

        kwargs = _kwargs(args)
        tdtype = getattr(tf, dtype)
        xt, wt = tf.constant(x, dtype=tdtype), tf.constant(w, dtype=tdtype)
        fn = tf.nn.conv2d if x.ndim == 4 else tf.nn.convolution
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = fn(xt, wt, **kwargs)
        grad = tape.gradient(y, xt, output_gradients=tf.constant(cotangent, dtype=tdtype))
        return tf.cast(grad, tf.float64).numpy()
