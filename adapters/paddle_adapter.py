"""PaddlePaddle adapter: paddle.nn.functional.conv{1,2,3}d_transpose / conv{1,2,3}d on the CPU.

Speaks the paddle dialect (`convtx.harness.semantics.paddle`): the arguments go to the functional
as written (stride, padding, output_padding, dilation, groups, output_size, data_format); tensors
are made with paddle.to_tensor on the CPU (paddle.set_device('cpu')), the bias through the
functional's `bias` argument.  The weight is (C_in, C_out/g, *k) / (C_out, C_in/g, *k) whatever the
data_format.  paddle's CPU kernels have no float16/bfloat16 convolutions: their refusal reads `unsupported`.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from convtx.adapters.contract import System, given, module_available, render_call

# glog noise off; no C++ call stack in error messages (the worker quotes the first lines)
# paddle's words when no kernel is registered for this dtype/place (the verdict is `unsupported`), e.g.
# "(NotFound) The kernel with key (CPU, ..., float16) of kernel `conv2d_transpose` is not registered"
REFUSALS: tuple[str, ...] = (r"is not registered", r"\(Unimplemented\)")


def _set_device(device: str) -> None:
    import paddle
    paddle.set_device("gpu" if device == "cuda" else "cpu")


def _function(op: str, ndim: int) -> str:
    return f"conv{ndim}d_transpose" if op == "conv_transpose" else f"conv{ndim}d"


def _kwargs(op: str, args: Mapping[str, Any]) -> dict:
    kwargs = given(args)
    defaults = {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1}
    return {k: v for k, v in kwargs.items() if not (k in defaults and v == defaults[k])}


class PaddleSystem(System):
    """PaddlePaddle adapter: paddle.nn.functional.conv{1,2,3}d_transpose / conv{1,2,3}d on the CPU."""

    id = "paddle"
    dialect = "paddle"
    install_hint = "pip install '.[paddle]'"
    requires = ("paddle",)
    env = {"GLOG_minloglevel": "2", "FLAGS_call_stack_level": "0"}
    refusals = REFUSALS
    capabilities = frozenset({"gradient"})

    def version(self) -> str:
        import paddle
        return paddle.__version__

    def environment(self, device: str = "cpu") -> dict:
        import paddle
        _set_device(device)
        return {"device": device, "paddle_device": paddle.get_device(),
                "compiled_with_cuda": bool(paddle.is_compiled_with_cuda()),
                "default_dtype": str(paddle.get_default_dtype())}

    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str:
        kwargs = _kwargs(op, args)
        positional = ["x", "w"] + (["bias=b"] if has_bias else [])
        return render_call(f"paddle.nn.functional.{_function(op, len(x_shape) - 2)}", positional, kwargs)

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        import paddle
        import paddle.nn.functional as F

        _set_device(device)
        fn = getattr(F, _function(op, x.ndim - 2))
        tensor = lambda a: paddle.to_tensor(np.asarray(a, dtype=dtype))  # noqa: E731
        bias = tensor(b) if b is not None else None
        out = fn(tensor(x), tensor(w), bias=bias, **_kwargs(op, args))
        return out.numpy().astype(np.float64)

    def input_gradient(self, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, cotangent: np.ndarray, dtype: str,
                       device: str = "cpu") -> np.ndarray:
        """d<conv(x, w), cotangent>/dx by paddle's autograd (args: paddle's conv arguments)."""
        import paddle
        import paddle.nn.functional as F

        _set_device(device)
        inp = paddle.to_tensor(np.asarray(x, dtype=dtype), stop_gradient=False)
        out = getattr(F, _function("conv", x.ndim - 2))(inp, paddle.to_tensor(np.asarray(w, dtype=dtype)),
                                                          **_kwargs("conv", args))
        (out * paddle.to_tensor(np.asarray(cotangent, dtype=dtype))).sum().backward()
        return inp.grad.numpy().astype(np.float64)
