"""Shared by the ONNX adapters: the one-node ConvTranspose / Conv model and its call text."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from convtx.adapters.contract import System, given

OPSET = 17
_DTYPES = {"float16": 10, "float32": 1, "float64": 11, "bfloat16": 16}  # onnx.TensorProto values


def node_attributes(args: Mapping[str, Any], w_shape) -> dict:
    attrs = given(args)
    if isinstance(attrs.get("auto_pad"), str) and attrs["auto_pad"] == "NOTSET":
        attrs.pop("auto_pad")
    n = len(w_shape) - 2
    for key in ("strides", "dilations", "output_padding"):
        if isinstance(attrs.get(key), int):
            attrs[key] = [attrs[key]] * n
    if isinstance(attrs.get("pads"), int):
        attrs["pads"] = [attrs["pads"]] * (2 * n)
    if "output_shape" in attrs:
        attrs["output_shape"] = list(attrs["output_shape"])[-n:]
    attrs.setdefault("kernel_shape", list(w_shape[2:]))
    return {k: v for k, v in attrs.items() if not (k == "group" and v == 1)}


def onnx_code(op: str, args: Mapping[str, Any], x_shape, w_shape, has_bias: bool) -> str:
    kind = "ConvTranspose" if op == "conv_transpose" else "Conv"
    inputs = ["x", "w", "b"] if has_bias else ["x", "w"]
    attrs = ", ".join(f"{k}={v!r}" for k, v in node_attributes(args, w_shape).items())
    return f"onnx.helper.make_node({kind!r}, {inputs!r}, ['y'], {attrs})"


def build_model(op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b, dtype: str):
    from onnx import helper, numpy_helper

    elem = _DTYPES[dtype]
    kind = "ConvTranspose" if op == "conv_transpose" else "Conv"
    np_dtype = np.dtype(dtype) if dtype != "bfloat16" else np.float32
    inits = [numpy_helper.from_array(w.astype(np_dtype), "w")]
    names = ["x", "w"]
    if b is not None:
        inits.append(numpy_helper.from_array(b.astype(np_dtype), "b"))
        names.append("b")
    node = helper.make_node(kind, names, ["y"], **node_attributes(args, w.shape))
    graph = helper.make_graph([node], "convtx", [helper.make_tensor_value_info("x", elem, list(x.shape))],
                              [helper.make_tensor_value_info("y", elem, None)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model


class OnnxSystem(System):
    """What every system running a one-node ONNX model shares: the dialect, the model, the call's code."""

    dialect = "onnx"
    install_hint = "pip install '.[onnx]'"

    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str:
        return onnx_code(op, args, x_shape, w_shape, has_bias)

    def api_limit(self, op: str, geometry: Any, dtype: str, args: Mapping[str, Any]) -> str | None:
        """What the ONNX format cannot say (a build's missing kernels are refusals, seen when they happen)."""
        if dtype == "bfloat16":
            return f"ONNX {'ConvTranspose' if op == 'conv_transpose' else 'Conv'} (opset {OPSET}) takes no bfloat16 tensors"
        return None
