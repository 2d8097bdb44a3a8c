"""torch -> ONNX -> onnxruntime: the torch module exported by `torch.onnx.export`, run on onnxruntime's CPU.

Speaks the torch dialect (the module is built as the `torch` system builds it: nn.ConvTranspose{1,2,3}d
/ nn.Conv{1,2,3}d, bias off unless the case has one, weight assigned, `output_size=` given to forward,
eval mode).  Two exporters, two systems:
- `torch-onnx`: the current exporter (`dynamo=True`: torch.export, then onnxscript's torchlib);
- `torch-onnx-legacy`: the TorchScript exporter (`dynamo=False`), deprecated but still shipped.
The call text records the ONNX node the export must produce (ConvTranspose/Conv with its pads,
output_padding, output_shape, auto_pad, strides, dilations, group; defaults left out); `call` reads the
exported graph and raises, naming the node the exporter actually wrote, where it is not that node, so
an exporter that drops or rewrites an attribute is a visible failure, never a silently wrong call text.
An exported graph is reused for the next call with the same module and shapes, its weight and bias
initializers replaced (the fuzzer sends each meaning several times with new data).
"""

from __future__ import annotations

import io
import warnings
from typing import Any, ClassVar, Mapping

import numpy as np

from convtx.adapters.torch_adapter import output_padding_of
from convtx.adapters.contract import System, given
from convtx.adapters.torch_adapter import REFUSALS as TORCH_REFUSALS

_MODULE_ONLY = ("in_channels", "out_channels", "kernel_size", "output_size")
# the exporters' and onnxruntime's own words for "no export/kernel for this" (the verdict is `unsupported`)
REFUSALS: tuple[str, ...] = TORCH_REFUSALS + (
    r"NOT_IMPLEMENTED", r"Could not find an implementation for",
    # onnxruntime's Conv has no auto_pad SAME_* with dilations (how the legacy exporter writes padding='same')
    r"Dilation not supported for AutoPadType",
    r"Unsupported: ONNX export of", r"is not supported in ONNX", r"ONNX export failed on an operator",
)


def _n(value, n: int) -> list[int]:
    return [value] * n if isinstance(value, int) else list(value)


def expected_node(op: str, args: Mapping[str, Any], x_shape, w_shape, exporter: str) -> tuple[str, dict]:
    """The ONNX node (type, attributes without their defaults) the export of this torch call must give."""
    n = len(x_shape) - 2
    kernel = list(w_shape[2:])
    stride, dilation = _n(args.get("stride", 1), n), _n(args.get("dilation", 1), n)
    attrs: dict[str, Any] = {"strides": stride, "dilations": dilation, "group": args.get("groups", 1)}
    if op == "conv":
        padding = args.get("padding", 0)
        if padding == "same" and exporter == "legacy":
            attrs["auto_pad"] = "SAME_UPPER"
        elif padding == "same":
            totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
            attrs["pads"] = [t // 2 for t in totals] + [t - t // 2 for t in totals]
        elif padding != "valid":
            attrs["pads"] = _n(padding, n) * 2
        return "Conv", normalized(attrs, n)
    pad = _n(args.get("padding", 0), n)
    out_pad = output_padding_of(args, x_shape, kernel, stride, dilation, pad)
    attrs.update(pads=pad * 2, output_padding=out_pad)
    return "ConvTranspose", normalized(attrs, n)


def normalized(attrs: Mapping[str, Any], n: int) -> dict:
    """ONNX attributes without the ones that say the default (and without kernel_shape: the weight's)."""
    defaults = {"strides": [1] * n, "dilations": [1] * n, "group": 1, "pads": [0] * (2 * n),
                "output_padding": [0] * n, "auto_pad": "NOTSET"}
    out = {}
    for key, value in attrs.items():
        value = value.decode() if isinstance(value, bytes) else value
        value = list(value) if isinstance(value, (list, tuple)) else value
        if key != "kernel_shape" and defaults.get(key) != value:
            out[key] = value
    return out


def graph_nodes(model) -> list[tuple[str, dict]]:
    from onnx import helper
    return [(node.op_type, {a.name: helper.get_attribute_value(a) for a in node.attribute})
            for node in model.graph.node]


def _node_text(kind: str, attrs: Mapping[str, Any]) -> str:
    return f"{kind}({', '.join(f'{k}={v!r}' for k, v in attrs.items())})"


def torch_module(op: str, args: Mapping[str, Any], x_shape, w: np.ndarray, b, dtype: str):
    """The module the `torch` system runs (forward given `output_size` where the case has one)."""
    import torch
    from torch import nn

    tdtype = getattr(torch, dtype)
    ndim = len(x_shape) - 2
    groups = args.get("groups", 1)
    c_out = w.shape[1] * groups if op == "conv_transpose" else w.shape[0]
    cls = getattr(nn, f"ConvTranspose{ndim}d" if op == "conv_transpose" else f"Conv{ndim}d")
    module = cls(x_shape[1], c_out, tuple(w.shape[2:]), bias=b is not None, dtype=tdtype, **given(args, _MODULE_ONLY))
    with torch.no_grad():
        module.weight.copy_(torch.as_tensor(w, dtype=tdtype))
        if b is not None:
            module.bias.copy_(torch.as_tensor(b, dtype=tdtype))
    if args.get("output_size") is None:
        return module.eval()

    class WithOutputSize(nn.Module):
        def __init__(self, inner, size):
            super().__init__()
            self.m, self.size = inner, list(size)

        def forward(self, x):
            return self.m(x, output_size=self.size)

    return WithOutputSize(module, args["output_size"]).eval()


def export(module, x: np.ndarray, dtype: str, exporter: str):
    """The ONNX ModelProto of `module` traced on `x` by one of torch's exporters (defaults as shipped)."""
    import torch

    example = (torch.as_tensor(x, dtype=getattr(torch, dtype)),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the deprecation notice of the legacy exporter, export's own chatter
        if exporter == "dynamo":
            return torch.onnx.export(module, example, dynamo=True, verbose=False).model_proto
        import onnx
        buffer = io.BytesIO()
        torch.onnx.export(module, example, buffer, dynamo=False)
        return onnx.load_from_string(buffer.getvalue())


_CACHE: dict = {}  # (exporter, op, args, shapes, dtype, bias) -> exported model (initializers replaced per call)


def _with_weights(model, module) -> bool:
    """Put the module's parameters into the model's initializers of the same names; False if one is missing."""
    from onnx import numpy_helper
    params = {name: p.detach().numpy() for name, p in module.named_parameters()}
    found = {init.name: init for init in model.graph.initializer if init.name in params}
    if set(found) != set(params) or any(tuple(found[k].dims) != params[k].shape for k in params):
        return False
    for name, init in found.items():
        init.CopyFrom(numpy_helper.from_array(params[name].astype(numpy_helper.to_array(init).dtype), name))
    return True


class TorchOnnxSystem(System):
    """The torch module exported by torch.onnx.export (dynamo=True), run on onnxruntime's CPU provider."""

    id = "torch-onnx"
    dialect = "torch"
    install_hint = "pip install '.[torch-onnx]'"
    requires: ClassVar[tuple[str, ...]] = ("torch", "onnx", "onnxruntime", "onnxscript")
    env = {"TORCH_LOGS": "-all"}
    refusals = REFUSALS
    exporter = "dynamo"

    def version(self) -> str:
        import onnxruntime
        import torch
        return f"torch {torch.__version__} ({self.exporter} exporter) -> onnxruntime {onnxruntime.__version__}"

    def environment(self, device: str = "cpu") -> dict[str, Any]:
        from importlib.metadata import version as dist_version
        import onnx
        import onnxruntime
        import torch
        env = {"device": "cpu", "torch": torch.__version__, "exporter": self.exporter, "onnx": onnx.__version__,
               "onnxruntime": onnxruntime.__version__, "provider": "CPUExecutionProvider"}
        if self.exporter == "dynamo":
            env["onnxscript"] = dist_version("onnxscript")
        return env

    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str:
        from convtx.adapters.torch_adapter import TorchSystem
        call = TorchSystem().code(op, args, x_shape, w_shape, has_bias).split("  #")[0]
        module = call[:-len("(x)")] if call.endswith("(x)") else f"<module: forward(x) = {call}>"
        kind, attrs = expected_node(op, args, x_shape, w_shape, self.exporter)
        how = "dynamo=True" if self.exporter == "dynamo" else "dynamo=False"
        return (f"torch.onnx.export({module}, (x,), {how}) -> ONNX {_node_text(kind, attrs)} "
                f"-> onnxruntime CPUExecutionProvider  # weight = w{'; bias = b' if has_bias else ''}")

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        import onnxruntime as ort

        module = torch_module(op, args, x.shape, w, b, dtype)
        key = (self.exporter, op, repr(sorted(args.items())), x.shape, w.shape, b is not None, dtype)
        model = _CACHE.get(key)
        if model is None or not _with_weights(model, module):
            model = export(module, x, dtype, self.exporter)
            if len(_CACHE) > 64:
                _CACHE.clear()
            _CACHE[key] = model
        self._check(model, op, args, x.shape, w.shape)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(x, dtype=dtype)})
        return np.asarray(out, dtype=np.float64)

    def _check(self, model, op: str, args: Mapping[str, Any], x_shape, w_shape) -> None:
        kind, attrs = expected_node(op, args, x_shape, w_shape, self.exporter)
        n = len(x_shape) - 2
        convs = [(k, normalized(a, n)) for k, a in graph_nodes(model) if k in ("Conv", "ConvTranspose")]
        if convs != [(kind, attrs)]:
            others = [k for k, _ in graph_nodes(model) if k not in ("Conv", "ConvTranspose")]
            raise RuntimeError(f"the {self.exporter} exporter wrote {[_node_text(k, a) for k, a in convs]}"
                               f"{f' (and {others})' if others else ''}, not the {_node_text(kind, attrs)} "
                               "this torch call means")


class TorchOnnxLegacySystem(TorchOnnxSystem):
    """The same module exported by the legacy TorchScript exporter (dynamo=False)."""

    id = "torch-onnx-legacy"
    requires = ("torch", "onnx", "onnxruntime")
    exporter = "legacy"
