"""PyTorch adapter: nn.ConvTranspose{1,2,3}d / nn.Conv{1,2,3}d modules with the weight assigned.

Speaks the torch dialect: the arguments are torch's own (the case's, or `semantics.express`'s),
tensors are in torch's layouts.  The module is built with bias=False unless the case has a bias
(a module's default random bias has fooled people before), its weight is assigned, and forward
runs under no_grad; `output_size=` goes to forward, as the module API has it.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from convtx.adapters.contract import System, Variant, given, module_available, render_call

# torch's words for "no kernel for this dtype/device here" (the verdict is `unsupported`)
REFUSALS: tuple[str, ...] = (r"not implemented for '", r"^NotImplementedError")
_MODULE_ONLY = ("in_channels", "out_channels", "kernel_size", "output_size")


def _class(op: str, ndim: int) -> str:
    return f"nn.ConvTranspose{ndim}d" if op == "conv_transpose" else f"nn.Conv{ndim}d"


def output_padding_of(args: Mapping[str, Any], x_shape, kernel, stride, dilation, pad) -> list[int]:
    """torch's output_padding per axis: given, or what forward(x, output_size=...) computes from the size."""
    n = len(kernel)
    if args.get("output_size") is None:
        value = args.get("output_padding", 0)
        return [value] * n if isinstance(value, int) else list(value)
    size = list(args["output_size"])[-n:]
    return [o - ((i - 1) * s - 2 * p + d * (k - 1) + 1)
            for o, i, k, s, d, p in zip(size, x_shape[2:], kernel, stride, dilation, pad)]


class TorchSystem(System):
    """PyTorch adapter: nn.ConvTranspose{1,2,3}d / nn.Conv{1,2,3}d modules with the weight assigned."""

    id = "torch"
    dialect = "torch"
    install_hint = "pip install '.[torch]'"
    requires = ("torch",)
    refusals = REFUSALS
    capabilities = frozenset({"gradient"})
    cache_env = {"TORCHINDUCTOR_CACHE_DIR": "{cache}/inductor"}  # torch[compile]'s generated kernels
    variants = {
        "channels_last": Variant("input and module in the channels-last memory format (other kernels)",
                                 options=frozenset({"channels_last"})),
        "compile": Variant("the module through torch.compile (inductor's generated kernels on the CPU)",
                           options=frozenset({"compile"})),
        "cuda": Variant("on the first CUDA device (cuDNN)", device="cuda"),
        "tf32": Variant("TF32 allowed for cuDNN convolutions and matmuls (a GPU precision mode)",
                        options=frozenset({"tf32"})),
    }

    def version(self) -> str:
        import torch
        return torch.__version__

    def environment(self, device: str = "cpu") -> dict:
        import torch
        self._precision()
        env = {"device": device, "threads": torch.get_num_threads(), "options": sorted(self.options),
               "float32_matmul_precision": torch.get_float32_matmul_precision(),
               "cuda_matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
               "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32}
        if device == "cuda":
            env.update(device_name=torch.cuda.get_device_name(0), cuda=torch.version.cuda,
                       cudnn=torch.backends.cudnn.version())
        return env

    def unavailable(self, device: str) -> str | None:
        import torch
        if device == "cuda" and not torch.cuda.is_available():
            return "no CUDA device here (torch.cuda.is_available() is False)"
        return None

    def _precision(self) -> None:
        import torch
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = "tf32" in self.options

    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str:
        ndim = len(x_shape) - 2
        groups = args.get("groups") or 1
        c_in = x_shape[1]
        c_out = w_shape[1] * groups if op == "conv_transpose" else w_shape[0]
        kwargs = given(args, _MODULE_ONLY)
        kwargs = {k: v for k, v in kwargs.items() if not (k in ("groups", "dilation", "stride") and v == 1)
                  and not (k in ("padding", "output_padding") and v == 0)}
        kwargs["bias"] = has_bias
        module = render_call(_class(op, ndim), [str(c_in), str(c_out), repr(list(w_shape[2:]))], kwargs)
        forward = "(x)" if args.get("output_size") is None else f"(x, output_size={args['output_size']!r})"
        return f"{module}{forward}  # weight = w{'; bias = b' if has_bias else ''}"

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        import torch
        from torch import nn

        tdtype = getattr(torch, dtype)
        ndim = x.ndim - 2
        groups = args.get("groups", 1)
        c_out = w.shape[1] * groups if op == "conv_transpose" else w.shape[0]
        kwargs = given(args, _MODULE_ONLY)
        module = getattr(nn, _class(op, ndim).split(".")[1])(x.shape[1], c_out, tuple(w.shape[2:]), bias=b is not None,
                                                             device=device, dtype=tdtype, **kwargs)
        with torch.no_grad():
            module.weight.copy_(torch.as_tensor(w, dtype=tdtype))
            if b is not None:
                module.bias.copy_(torch.as_tensor(b, dtype=tdtype))
            inp = torch.as_tensor(x, dtype=tdtype, device=device)
            inp, module = self._prepared(inp, module)
            if args.get("output_size") is not None:
                out = module(inp, output_size=list(args["output_size"]))
            else:
                out = module(inp)
        return out.detach().to("cpu", torch.float64).numpy()

    def _prepared(self, inp, module):
        """The selected variants applied: memory format, torch.compile."""
        import torch
        if "channels_last" in self.options and inp.ndim in (4, 5):
            fmt = torch.channels_last if inp.ndim == 4 else torch.channels_last_3d
            inp, module = inp.contiguous(memory_format=fmt), module.to(memory_format=fmt)
        if "compile" in self.options:
            module = torch.compile(module, dynamic=False)
        return inp, module

    def input_gradient(self, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, cotangent: np.ndarray, dtype: str,
                       device: str = "cpu") -> np.ndarray:
        """d<conv(x, w), cotangent>/dx by torch.autograd (args: torch's Conv arguments)."""
        import torch
        from torch import nn

        tdtype = getattr(torch, dtype)
        module = getattr(nn, f"Conv{x.ndim - 2}d")(x.shape[1], w.shape[0], tuple(w.shape[2:]), bias=False,
                                                     dtype=tdtype, **given(args, _MODULE_ONLY))
        with torch.no_grad():
            module.weight.copy_(torch.as_tensor(w, dtype=tdtype))
        inp = torch.as_tensor(x, dtype=tdtype).requires_grad_(True)
        module(inp).backward(torch.as_tensor(cotangent, dtype=tdtype))
        return inp.grad.detach().to(torch.float64).numpy()
