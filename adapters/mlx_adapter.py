"""MLX: mlx.core.conv_transpose{1,2,3}d / mlx.core.conv_general on the CPU (Apple's array framework).

Speaks the torch dialect: MLX's transposed convolution means what torch's does (stride, padding,
dilation, output_padding, groups: the same names and numbers), only its layouts differ, so the
conversion happens inside the system:
- input (N, C, *s) -> channels last (N, *s, C), and the output back;
- transposed weight (C_in, C_out/g, *k) -> (C_out, *k, C_in/g) (per group: channels swapped, no flip);
- forward weight (C_out, C_in/g, *k) -> (C_out, *k, C_in/g);
- `output_size` (torch's forward argument; MLX has none) -> the output_padding torch computes from it;
- conv: `mx.conv_general` with per-side padding `([lo...], [hi...])` (torch's 'same' at stride 1 puts
  the odd element at the end; 'valid' = 0).
MLX computes on its CPU device here (the `mlx[cpu]` wheel on Linux); float64 runs only there.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from convtx.adapters.torch_adapter import output_padding_of
from convtx.adapters.contract import System, render_call

# MLX's own words for "no kernel for this on this device" (the verdict is `unsupported`)
REFUSALS: tuple[str, ...] = (
    r"got unsupported data type",  # the CPU's convolution kernels for input-dilated (transposed) calls: no float64
    r"Can only handle groups != 1 in 1D or 2D convolutions",  # no grouped 3-D convolution
)


def _n(value, n: int) -> list[int]:
    return [value] * n if isinstance(value, int) else list(value)


def mlx_kwargs(op: str, args: Mapping[str, Any], x_shape, w_shape) -> dict[str, Any]:
    """torch-dialect arguments (torch layouts' shapes) -> MLX's keyword arguments."""
    n = len(x_shape) - 2
    stride, dilation = _n(args.get("stride", 1), n), _n(args.get("dilation", 1), n)
    groups = args.get("groups", 1)
    kernel = list(w_shape[2:])
    if op == "conv":
        padding = args.get("padding", 0)
        if padding == "same":
            totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
            pairs = [(t // 2, t - t // 2) for t in totals]
        elif padding == "valid":
            pairs = [(0, 0)] * n
        else:
            pairs = [(p, p) for p in _n(padding, n)]
        return {"stride": stride, "padding": ([lo for lo, _ in pairs], [hi for _, hi in pairs]),
                "kernel_dilation": dilation, "groups": groups}
    pad = _n(args.get("padding", 0), n)
    out_pad = output_padding_of(args, x_shape, kernel, stride, dilation, pad)
    return {"stride": stride, "padding": pad, "dilation": dilation, "output_padding": out_pad, "groups": groups}


def mlx_weight(op: str, w: np.ndarray, groups: int) -> np.ndarray:
    """A torch-layout weight in MLX's (C_out, *k, C_in/g)."""
    if op == "conv":
        return np.moveaxis(w, 1, -1)
    c_in, c_out_g = w.shape[:2]
    per_group = w.reshape(groups, c_in // groups, c_out_g, *w.shape[2:])  # (g, C_in/g, C_out/g, *k)
    moved = np.moveaxis(per_group, 1, -1)  # (g, C_out/g, *k, C_in/g)
    return moved.reshape(groups * c_out_g, *w.shape[2:], c_in // groups)


def _function(op: str, ndim: int) -> str:
    return f"mx.conv_transpose{ndim}d" if op == "conv_transpose" else "mx.conv_general"


def _weight_text(op: str, ndim: int, groups: int) -> str:
    last = ", ".join(str(a) for a in range(2, ndim + 2))
    if op == "conv":
        return f"w.transpose(0, {last}, 1)"
    if groups == 1:
        return f"w.transpose(1, {last}, 0)"
    return (f"w.reshape({groups}, C_in/{groups}, C_out/{groups}, *k) -> (C_out, *k, C_in/{groups}) "
            "(per group: transpose(1, ..., 0))")


class MlxSystem(System):
    """MLX on its CPU device: mx.conv_transpose{1,2,3}d / mx.conv_general, channels last inside."""

    id = "mlx"
    dialect = "torch"
    install_hint = "pip install '.[mlx]'  (mlx[cpu] on Linux)"
    requires = ("mlx",)
    refusals = REFUSALS

    def version(self) -> str:
        import mlx.core as mx
        return str(getattr(mx, "__version__", "?"))

    def environment(self, device: str = "cpu") -> dict[str, Any]:
        import mlx.core as mx
        return {"device": device, "mlx_device": str(mx.default_device()),
                "metal": bool(getattr(mx, "metal", None) and mx.metal.is_available()),
                "cuda": bool(getattr(mx, "cuda", None) and mx.cuda.is_available())}

    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str:
        ndim = len(x_shape) - 2
        kwargs = {k: v for k, v in mlx_kwargs(op, args, x_shape, w_shape).items()
                  if not (k == "groups" and v == 1)
                  and not (k in ("stride", "dilation", "kernel_dilation") and v == [1] * ndim)
                  and not (k in ("padding", "output_padding") and v == [0] * ndim)}
        last = ", ".join(str(a) for a in range(2, ndim + 2))
        call = render_call(_function(op, ndim), [f"x.transpose(0, {last}, 1)", "w_mlx"], kwargs)
        bias = " + b" if has_bias else ""
        return (f"{call}{bias}  # CPU; w_mlx = {_weight_text(op, ndim, args.get('groups', 1))}; "
                f"output channels last -> (N, C, *s)")

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        import mlx.core as mx

        mdtype = getattr(mx, dtype)
        host = np.float32 if dtype == "bfloat16" else np.dtype(dtype)
        ndim = x.ndim - 2
        kwargs = mlx_kwargs(op, args, x.shape, w.shape)
        wm = mlx_weight(op, w, kwargs["groups"])
        stream = mx.cpu if device == "cpu" else mx.gpu
        # mx.array(a float64 array) is float32 unless told: every tensor is made in the call's dtype
        xt = mx.array(np.ascontiguousarray(np.moveaxis(x, 1, -1), dtype=host), dtype=mdtype)
        wt = mx.array(np.ascontiguousarray(wm, dtype=host), dtype=mdtype)
        if op == "conv_transpose":
            if ndim == 1:  # conv_transpose1d takes plain integers
                kwargs = {k: v[0] if isinstance(v, list) else v for k, v in kwargs.items()}
            out = getattr(mx, f"conv_transpose{ndim}d")(xt, wt, stream=stream, **kwargs)
        else:
            out = mx.conv_general(xt, wt, stream=stream, **kwargs)
        if b is not None:
            out = out + mx.array(np.asarray(b, dtype=host), dtype=mdtype)
        out = out.astype(mx.float64 if dtype == "float64" else mx.float32, stream=stream)
        mx.eval(out)
        return np.moveaxis(np.array(out), -1, 1).astype(np.float64)
