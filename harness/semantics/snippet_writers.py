"""Per framework, how a snippet runs one native call (see `snippets`): imports, the call, hazards.

A `Writer` is keyed by its dialect in `WRITERS`.  `call(route, x, w, b)` returns the lines that, given
NumPy arrays named `x` and `w` (and `b`) already in the route's layouts, build the layer or op with its
weights set, run it and leave a NumPy array `out` in the route's output layout; `snippets` writes the
layout conversions and the NumPy steps around it.  `systems` are the convtx systems whose known bugs
the call can hit; `unsupported(route)` says what some builds refuse (the verdict `unsupported`);
`routes(g)` offers a writer's own ways to say a call its dialect's arguments cannot.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from convtx.harness.semantics.routes import Hazard, Route
from convtx.harness.core.problem import Geometry
from convtx.harness.semantics.common import Layout, canonical_weight_roles, channels_first

__all__ = ["Writer", "WRITERS"]

_NO_ONEDNN = ("TensorFlow's CPU kernels: always without oneDNN (TF_ENABLE_ONEDNN_OPTS=0 or a CPU it does not "
              "cover), with it for some calls (explicit padding)")


def _kwargs(args: Mapping[str, Any], drop: tuple[str, ...] = (), convert=lambda v: v) -> str:
    """The arguments as written (None included: a call passes what its case wrote)."""
    return "".join(f", {k}={convert(v)!r}" for k, v in args.items() if k not in drop)


def _tuples(value):
    if isinstance(value, (list, tuple)):
        return tuple(_tuples(v) for v in value)
    return value


def _dilated(route: Route) -> bool:
    return any(a.dilation > 1 for a in route.geometry.axes)


def _channels_first(route: Route) -> bool:
    return route.layout.output[1] == "C"


class Writer:
    dialect = ""
    systems: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()
    native_bias = True  # the call takes the bias (else the snippet adds it in NumPy)

    def call(self, route: Route, x: str, w: str, b: str | None) -> list[str]:
        raise NotImplementedError

    def routes(self, g: Geometry) -> Iterable[Route]:
        return ()

    def unsupported(self, route: Route) -> list[Hazard]:
        return []


class TorchWriter(Writer):
    dialect, systems, imports = "torch", ("torch",), ("import torch",)

    def call(self, route, x, w, b):
        g = route.geometry
        kind = "ConvTranspose" if g.op == "conv_transpose" else "Conv"
        kw = _kwargs(route.args, ("in_channels", "out_channels", "kernel_size", "output_size"))
        size = route.args.get("output_size")
        forward = "layer(inp)" if size is None else f"layer(inp, output_size={size!r})"
        lines = [f"inp = torch.from_numpy({x})",
                 f"layer = torch.nn.{kind}{g.ndim}d({g.in_channels}, {g.out_channels}, {tuple(g.kernel)}{kw}, "
                 f"bias={b is not None}, dtype=inp.dtype)",
                 "with torch.no_grad():", f"    layer.weight.copy_(torch.from_numpy({w}))"]
        if b:
            lines.append(f"    layer.bias.copy_(torch.from_numpy({b}))")
        return lines + [f"    out = {forward}.numpy()"]


class KerasWriter(Writer):
    dialect, systems, imports = "keras", ("keras", "keras-jax", "keras-torch"), ("import keras",)

    def call(self, route, x, w, b):
        g = route.geometry
        kind = "DTranspose" if g.op == "conv_transpose" else "D"
        kw = _kwargs(route.args, ("filters", "kernel_size"))
        weights = f"[{w}, {b}]" if b else f"[{w}]"
        return [f"layer = keras.layers.Conv{g.ndim}{kind}(filters={g.out_channels}, kernel_size={tuple(g.kernel)}{kw}, "
                f"use_bias={b is not None}, dtype={x}.dtype.name)",
                f"layer.build({x}.shape)", f"layer.set_weights({weights})",
                f"out = keras.ops.convert_to_numpy(layer({x}))"]

    def unsupported(self, route):
        return _tf_refusals(route, "keras", "Keras's TensorFlow backend")


def _tf_refusals(route: Route, system: str, who: str) -> list[Hazard]:
    out = []
    if _dilated(route) and route.geometry.op == "conv_transpose":
        out.append(Hazard("unsupported", system, f"{who}: the CPU kernels refuse a dilated transposed convolution "
                          "('Current CPU implementations do not yet support dilation rates larger than 1')",
                          "https://github.com/tensorflow/tensorflow/issues/28264", _NO_ONEDNN,
                          "do(es)? not yet support dilation"))
    if _channels_first(route):
        out.append(Hazard("unsupported", system, f"{who}: the CPU kernels run channels-last convolutions only "
                          "('... only supports NHWC')", "https://github.com/tensorflow/tensorflow/issues/20405",
                          _NO_ONEDNN, "only supports NHWC|do(es)? not yet support"))
    return out


class TfWriter(Writer):
    dialect, systems, imports = "tf", ("tf",), ("import tensorflow as tf",)

    def call(self, route, x, w, b):
        n, op = route.geometry.ndim, route.geometry.op
        fn = f"conv{n}d_transpose" if op == "conv_transpose" else ("conv2d" if n == 2 else "convolution")
        text = f"tf.nn.{fn}({x}, {w}{_kwargs(route.args)})"
        if b:
            text = f"tf.nn.bias_add({text}, {b}" + (", data_format='NC...')" if _channels_first(route) else ")")
        return [f"out = {text}.numpy()"]

    def unsupported(self, route):
        return _tf_refusals(route, "tf", "TensorFlow")


class JaxWriter(Writer):
    dialect, systems, imports = "jax", ("jax",), ("from jax import lax",)
    native_bias = False

    def call(self, route, x, w, b):
        if route.variant == "grouped":
            g = route.geometry
            k, cin_g, cout_g = tuple(g.kernel), g.in_channels // g.groups, g.out_channels // g.groups
            axes = tuple(range(2, 2 + g.ndim))
            return [f"wg = np.flip({w}.reshape({(g.groups, cin_g, cout_g, *k)}).swapaxes(1, 2)"
                    f".reshape({(g.out_channels, cin_g, *k)}), axis={axes})  # groups regrouped, kernel flipped",
                    f"out = np.asarray(lax.conv_general_dilated({x}, wg{_kwargs(route.args, (), _tuples)}))"]
        fn = "conv_transpose" if route.geometry.op == "conv_transpose" else "conv_general_dilated"
        return [f"out = np.asarray(lax.{fn}({x}, {w}{_kwargs(route.args, (), _tuples)}))"]

    def routes(self, g):
        """lax.conv_transpose has no groups: conv_general_dilated with lhs_dilation says it, crop included."""
        if g.op == "conv_transpose" and g.groups > 1:
            from convtx.harness.semantics.jax import grouped_transpose_args
            args = grouped_transpose_args(g)
            canonical = Layout(channels_first(g.ndim), canonical_weight_roles(g.op, g.ndim), channels_first(g.ndim))
            yield Route(args, args, canonical, g, variant="grouped")


class OnnxWriter(Writer):
    dialect, systems = "onnx", ("onnxruntime",)
    imports = ("import onnxruntime as ort", "from onnx import helper, numpy_helper")

    def call(self, route, x, w, b):
        kind = "ConvTranspose" if route.geometry.op == "conv_transpose" else "Conv"
        names = ["x", "w", "b"] if b else ["x", "w"]
        inits = ", ".join(f"numpy_helper.from_array({v}.astype({x}.dtype), {n!r})" for v, n in zip((w, b), "wb") if v)
        return [f"elem = helper.np_dtype_to_tensor_dtype({x}.dtype)",
                f"node = helper.make_node({kind!r}, {names!r}, ['y']{_kwargs(route.args)})",
                f"graph = helper.make_graph([node], 'convtx', [helper.make_tensor_value_info('x', elem, {x}.shape)],",
                f"                          [helper.make_tensor_value_info('y', elem, None)], [{inits}])",
                "model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)], ir_version=8)",
                "session = ort.InferenceSession(model.SerializeToString(), providers=['CPUExecutionProvider'])",
                f"out = session.run(None, {{'x': {x}}})[0]"]

    def unsupported(self, route):
        if route.geometry.op != "conv_transpose":
            return []
        return [Hazard("unsupported", "onnxruntime", "the CPU provider has no float64 ConvTranspose kernel "
                       "(NOT_IMPLEMENTED): pass float32 arrays",
                       "https://github.com/microsoft/onnxruntime/blob/main/docs/OperatorKernels.md", "float64 tensors",
                       "NOT_IMPLEMENTED|Could not find an implementation")]


class PaddleWriter(Writer):
    dialect, systems, imports = "paddle", ("paddle",), ("import paddle",)

    def call(self, route, x, w, b):
        g = route.geometry
        fn = f"conv{g.ndim}d_transpose" if g.op == "conv_transpose" else f"conv{g.ndim}d"
        bias = f", bias=paddle.to_tensor({b})" if b else ""
        return [f"out = paddle.nn.functional.{fn}(paddle.to_tensor({x}), paddle.to_tensor({w}){bias}"
                f"{_kwargs(route.args)}).numpy()"]


WRITERS: dict[str, Writer] = {w.dialect: w for w in (TorchWriter(), KerasWriter(), TfWriter(), JaxWriter(),
                                                     OnnxWriter(), PaddleWriter())}
