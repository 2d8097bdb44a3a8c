"""LiteRT: the call converted by TensorFlow's TFLite converter and run on the LiteRT interpreter.

The path a Keras/TensorFlow model takes to a phone: the call is traced, converted to a TFLite
flatbuffer (weights baked in as constants) by `tf.lite.TFLiteConverter`, and run by
`ai_edge_litert.interpreter.Interpreter` with its default delegates (XNNPACK takes the nodes it
supports; the others run on TFLite's builtin kernels).
- `litert` (keras dialect): the case's Keras layer (`Conv{1,2,3}DTranspose` / `Conv{1,2,3}D`, TensorFlow
  backend) in a one-layer `keras.Model` with a fixed batch, converted by `from_keras_model`;
- `litert-tf` (tf dialect): `tf.nn.conv{1,2,3}d_transpose` / `tf.nn.conv2d` / `tf.nn.convolution` in a
  `tf.function` with the weight as a constant, converted by `from_concrete_functions`.
The call text names the TFLite op the convolution becomes (TRANSPOSE_CONV for 1-D and 2-D transposed
convolutions, CONV_3D_TRANSPOSE in 3-D, CONV_2D (grouped ones too) / CONV_3D forward); `call` checks
the converted model against it and raises (naming both) where the converter made something else, so
the text is never silently wrong.  A call the converter cannot lower to TFLite builtins ("neither a
custom op nor a flex op", e.g. a dilated transposed convolution) is the converter's refusal:
`unsupported`, with its message.
"""

from __future__ import annotations

import contextlib
import io
import os
from typing import Any, Mapping

import numpy as np

from convtx.adapters.contract import System, render_call
from convtx.adapters.keras_adapter import _class as keras_class
from convtx.adapters.keras_adapter import _layer_kwargs as keras_layer_kwargs
from convtx.adapters.tf_adapter import _fn as tf_function
from convtx.adapters.tf_adapter import _kwargs as tf_kwargs
from convtx.adapters.tf_adapter import tf_call

# The converter's and the interpreter's own words for "TFLite has no builtin op/kernel for this"
REFUSALS: tuple[str, ...] = (
    r"neither a custom op nor a flex op",
    r"Some ops are not supported by the native TFLite runtime",
    r"failed to legalize operation",
    r"is not supported by the TFLite runtime",
    r"Didn't find op for builtin opcode",
    r"Type .* is not currently supported",
)


def predicted_op(op: str, ndim: int) -> str:
    """The TFLite builtin the convolution becomes (checked against the converted model by `call`)."""
    if op == "conv_transpose":
        return "CONV_3D_TRANSPOSE" if ndim == 3 else "TRANSPOSE_CONV"
    return "CONV_3D" if ndim == 3 else "CONV_2D"  # grouped and depthwise alike: a grouped CONV_2D


def conv_ops(interpreter) -> list[str]:
    """The builtin ops of the converted model that are convolutions (DELEGATE nodes aside)."""
    return [d["op_name"] for d in interpreter._get_ops_details() if "CONV" in d["op_name"]]


def run_tflite(flatbuffer: bytes, x: np.ndarray, expected_op: str) -> np.ndarray:
    """Run a converted model on LiteRT's interpreter after checking which op the convolution became."""
    import importlib

    interpreter = importlib.import_module("ai_edge_litert.interpreter").Interpreter(model_content=flatbuffer)
    interpreter.allocate_tensors()
    ops = conv_ops(interpreter)
    if ops != [expected_op]:
        raise RuntimeError(f"convtx's call text says the converter makes one {expected_op}, but the converted "
                           f"model's convolution ops are {ops} (a convtx bug: report it)")
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    interpreter.set_tensor(inp["index"], np.ascontiguousarray(x, dtype=inp["dtype"]))
    interpreter.invoke()
    return np.asarray(interpreter.get_tensor(out["index"]), dtype=np.float64)


def _quiet():
    """The converter prints its SavedModel's signature on stdout: keep it out of the worker's log."""
    return contextlib.redirect_stdout(io.StringIO())


class _LiteRTSystem(System):
    """What both LiteRT paths share: the interpreter, the environment, the refusals."""

    install_hint = "pip install '.[litert]'"
    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    refusals = REFUSALS

    def version(self) -> str:
        from importlib.metadata import version as dist_version
        import tensorflow as tf
        return f"ai-edge-litert {dist_version('ai-edge-litert')} (converter: tensorflow {tf.__version__})"

    def environment(self, device: str = "cpu") -> dict[str, Any]:
        from importlib.metadata import version as dist_version
        import tensorflow as tf
        return {"device": "cpu", "tensorflow": tf.__version__, "ai_edge_litert": dist_version("ai-edge-litert"),
                "delegates": "default (XNNPACK takes the nodes it supports)",
                "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS")}

    @staticmethod
    def _suffix(op: str, ndim: int) -> str:
        return (f"  # -> tf.lite.TFLiteConverter -> TFLite {predicted_op(op, ndim)} "
                f"-> ai_edge_litert Interpreter (default delegates)")


class LiteRTKerasSystem(_LiteRTSystem):
    """The Keras layer (TensorFlow backend) converted by TFLiteConverter.from_keras_model, run on LiteRT."""

    id = "litert"
    dialect = "keras"
    requires = ("ai_edge_litert", "tensorflow", "keras")

    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str:
        ndim = len(x_shape) - 2
        kwargs = keras_layer_kwargs(op, args, w_shape)
        kwargs = {k: v for k, v in kwargs.items() if not (k in ("strides", "dilation_rate") and v in (1, [1] * ndim))
                  and not (k == "data_format" and v == "channels_last")}
        kwargs["use_bias"] = has_bias
        layer = render_call(f"keras.layers.{keras_class(op, ndim)}", [], kwargs)
        model = (f"inp = keras.Input(batch_shape={tuple(x_shape)}); layer = {layer}; "
                 f"model = keras.Model(inp, layer(inp)); layer.set_weights({'[w, b]' if has_bias else '[w]'}); "
                 "tf.lite.TFLiteConverter.from_keras_model(model).convert()")
        return model + self._suffix(op, ndim)

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        import keras
        import tensorflow as tf

        ndim = x.ndim - 2
        inp = keras.Input(batch_shape=x.shape, dtype=dtype)
        layer = getattr(keras.layers, keras_class(op, ndim))(use_bias=b is not None, dtype=dtype,
                                                             **keras_layer_kwargs(op, args, w.shape))
        model = keras.Model(inp, layer(inp))
        layer.set_weights([w.astype(dtype)] + ([b.astype(dtype)] if b is not None else []))
        with _quiet():
            flatbuffer = tf.lite.TFLiteConverter.from_keras_model(model).convert()
        return run_tflite(flatbuffer, x, predicted_op(op, ndim))


class LiteRTTfSystem(_LiteRTSystem):
    """tf.nn in a tf.function (weight constant) converted by TFLiteConverter.from_concrete_functions."""

    id = "litert-tf"
    dialect = "tf"
    requires = ("ai_edge_litert", "tensorflow")

    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str:
        ndim = len(x_shape) - 2
        kwargs = {k: v for k, v in tf_kwargs(args).items() if not (k == "dilations" and v in (1, [1] * ndim))}
        text = render_call(tf_function(op, ndim), ["x", "tf.constant(w)"], kwargs)
        if has_bias:
            text = f"tf.nn.bias_add({text}, tf.constant(b))"
        return (f"f = tf.function(lambda x: {text}, input_signature=[tf.TensorSpec({list(x_shape)})]); "
                "tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f).convert()"
                + self._suffix(op, ndim))

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        import tensorflow as tf

        ndim = x.ndim - 2
        kwargs = tf_kwargs(args)
        if isinstance(kwargs.get("padding"), list):
            kwargs["padding"] = [list(p) for p in kwargs["padding"]]
        nchw = str(kwargs.get("data_format") or "").startswith("NC")
        wt = tf.constant(w, dtype=dtype)
        bt = tf.constant(b, dtype=dtype) if b is not None else None

        def forward(xt):
            out = tf_call(op, ndim, xt, wt, kwargs)
            if bt is not None:
                out = tf.nn.bias_add(out, bt, data_format="NC..." if nchw else None)
            return out

        fn = tf.function(forward, input_signature=[tf.TensorSpec(x.shape, dtype)])
        with _quiet():
            converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
            flatbuffer = converter.convert()
        return run_tflite(flatbuffer, x, predicted_op(op, ndim))
