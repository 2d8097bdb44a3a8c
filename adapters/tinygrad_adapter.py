"""tinygrad adapter: Tensor.conv_transpose2d / Tensor.conv2d (n-D despite the names).

Speaks the torch dialect (tinygrad borrows torch's argument names and layouts: input (N, C, *s),
weight (C_in, C_out/g, *k) / (C_out, C_in/g, *k)).  The mapping (torch -> tinygrad):
- conv_transpose: stride, dilation, groups as is; padding (int or n ints) as is; output_padding as
  is; `output_size` has no tinygrad argument: output_padding = size - ((i-1)*s - 2p + d*(k-1) + 1),
  what torch computes from it (torch's own checks are the dialect's);
- conv: stride, dilation, groups, padding (int or n ints) as is; 'valid' -> 0; 'same' -> tinygrad's
  per-side form `(before, after)` per axis, last axis first (torch splits d*(k-1) with the extra
  element at the end);
- in_channels / out_channels / kernel_size are only checks: dropped.
tinygrad's padding also takes 2n values `(before_last, after_last, ..., before_0, after_0)` (last
axis first, like F.pad), negative values included: a transposed convolution then crops
(before, after - output_padding) and a convolution pads (before, after), so *any* crop is
expressible.  `fallback` uses that where torch's arguments cannot say a crop (Keras 'same' k3 s2,
zeros at the start, ...).

Device: tinygrad's CPU device compiles kernels with clang (`CC`, default clang) and cannot use gcc;
without clang the adapter runs tinygrad's PYTHON device (an interpreter of the same kernels: slow,
so large problems are refused by `api_limit`).  CONVTX_TINYGRAD_DEVICE overrides the choice.
"""

from __future__ import annotations

import os
import shutil
from typing import Any, Mapping

import numpy as np

from convtx.adapters.contract import SaidAsIs, System, module_available, render_call



def _pick_device() -> str:
    chosen = os.environ.get("CONVTX_TINYGRAD_DEVICE")
    if chosen:
        return chosen
    cc = os.environ.get("CC", "clang")
    return "CPU" if "clang" in os.path.basename(cc) and shutil.which(cc) else "PYTHON"


DEVICE = _pick_device()
PYTHON_DEVICE_MACS = 2_000_000  # ~10 s on the PYTHON device (about 5 us per multiply-add)
_DTYPES = ("float16", "bfloat16", "float32", "float64")


def _per_side(pairs) -> list[int]:
    """[(before, after)] per axis (first axis first) -> tinygrad's flat form, last axis first."""
    return [v for lo, hi in list(reversed(list(pairs))) for v in (lo, hi)]


def _n(value, n: int) -> list[int]:
    return [value] * n if isinstance(value, int) else list(value)


def tinygrad_kwargs(op: str, args: Mapping[str, Any], x_shape, w_shape) -> dict:
    """torch-dialect arguments (or `fallback`'s per-side crops) -> tinygrad's keyword arguments."""
    n = len(x_shape) - 2
    kwargs = {}
    for key in ("stride", "dilation", "groups"):
        if args.get(key, 1) not in (1, [1] * n):
            kwargs[key] = args[key]
    padding = args.get("padding", 0)
    if isinstance(padding, list) and padding and isinstance(padding[0], list):  # fallback: per-side pairs
        kwargs["padding"] = _per_side(padding)
    elif padding == "valid":
        pass
    elif padding == "same":
        if any(v != 1 for v in _n(args.get("stride", 1), n)):
            raise ValueError("no tinygrad spelling: torch's padding='same' is defined for stride 1 only "
                             "(tinygrad has no 'same'; convtx maps torch's)")
        dil = _n(args.get("dilation", 1), n)
        totals = [d * (k - 1) for d, k in zip(dil, w_shape[2:])]
        kwargs["padding"] = _per_side([(t // 2, t - t // 2) for t in totals])
    elif isinstance(padding, str):
        raise ValueError(f"no tinygrad spelling for padding={padding!r} (tinygrad takes integers only)")
    elif padding != 0:
        kwargs["padding"] = padding
    if op == "conv_transpose":
        out_pad = args.get("output_padding", 0)
        if args.get("output_size") is not None:
            out_pad = _output_padding(args, x_shape, w_shape)
        if out_pad != 0 and out_pad != [0] * n:
            kwargs["output_padding"] = out_pad
    return kwargs


def _output_padding(args: Mapping[str, Any], x_shape, w_shape) -> list[int]:
    n = len(x_shape) - 2
    size = _n(args["output_size"], n)[-n:]
    s, d, p = (_n(args.get(key, default), n) for key, default in (("stride", 1), ("dilation", 1), ("padding", 0)))
    out_pad = [o - ((i - 1) * s_ - 2 * p_ + d_ * (k - 1) + 1)
               for o, i, k, s_, d_, p_ in zip(size, x_shape[2:], w_shape[2:], s, d, p)]
    if any(not 0 <= op < s_ for op, s_ in zip(out_pad, s)):
        raise ValueError(f"no tinygrad spelling: output_size={list(size)} is outside torch's range for these "
                         "arguments (tinygrad has no output_size; convtx maps it to output_padding)")
    return out_pad


def _method(op: str) -> str:
    return "conv_transpose2d" if op == "conv_transpose" else "conv2d"


def _macs(g) -> int:
    return g.batch * g.out_channels * int(np.prod(g.out_size)) * (g.in_channels // g.groups) * int(np.prod(g.kernel))


def per_side_crop(geometry) -> SaidAsIs:
    """A geometry said with tinygrad's per-side padding (torch layouts, nothing converted)."""
    return SaidAsIs(geometry.op, {"stride": [a.stride for a in geometry.axes],
                                  "dilation": [a.dilation for a in geometry.axes], "groups": geometry.groups,
                                  "padding": [[a.lo, a.hi] for a in geometry.axes]})


class TinygradSystem(System):
    """tinygrad adapter: Tensor.conv_transpose2d / Tensor.conv2d (n-D despite the names)."""

    id = "tinygrad"
    dialect = "torch"
    install_hint = "pip install '.[tinygrad]'"
    requires = ("tinygrad",)
    env = {"DEV": DEVICE}
    cache_env = {"CACHEDB": "{cache}/tinygrad.db"}  # its compiled kernels (an SQLite file of its own)
    capabilities = frozenset({"fallback", "gradient"})

    def version(self) -> str:
        from importlib.metadata import version as dist_version
        return dist_version("tinygrad")

    def environment(self, device: str = "cpu") -> dict:
        from tinygrad import Device
        name = Device.DEFAULT
        return {"device": device, "tinygrad_device": name, "renderer": type(Device[name].renderer).__name__,
                "compiler": os.environ.get("CC", "clang") if name.split(":")[0] == "CPU" else None}

    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str:
        try:
            kwargs = tinygrad_kwargs(op, args, x_shape, w_shape)
        except ValueError as err:
            return f"Tensor(x).{_method(op)}(Tensor(w), ...)  # {err}"
        positional = ["Tensor(w)"] + (["bias=Tensor(b)"] if has_bias else [])
        return render_call(f"Tensor(x).{_method(op)}", positional, kwargs)

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        from tinygrad import Tensor, dtypes

        tdtype = getattr(dtypes, dtype)
        tensor = lambda a: Tensor(np.ascontiguousarray(a, dtype=np.float32 if dtype == "bfloat16" else dtype)).cast(tdtype)  # noqa: E731
        kwargs = tinygrad_kwargs(op, args, x.shape, w.shape)
        bias = tensor(b) if b is not None else None
        out = getattr(tensor(x), _method(op))(tensor(w), bias=bias, **kwargs)
        return out.cast(dtypes.float64 if dtype == "float64" else dtypes.float32).numpy().astype(np.float64)

    def input_gradient(self, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, cotangent: np.ndarray, dtype: str,
                       device: str = "cpu") -> np.ndarray:
        """d<conv(x, w), cotangent>/dx by tinygrad's autograd (args: torch's Conv arguments)."""
        from tinygrad import Tensor

        inp = Tensor(np.ascontiguousarray(x, dtype=dtype))
        out = inp.conv2d(Tensor(np.ascontiguousarray(w, dtype=dtype)), **tinygrad_kwargs("conv", args, x.shape, w.shape))
        (grad,) = (out * Tensor(np.ascontiguousarray(cotangent, dtype=dtype))).sum().gradient(inp)
        return grad.numpy().astype(np.float64)

    def api_limit(self, op: str, geometry: Any, dtype: str, args: Mapping[str, Any]) -> str | None:
        """What this tinygrad setup cannot run (a limit, not a wrong answer)."""
        if dtype not in _DTYPES:
            return f"tinygrad has no {dtype}"
        if DEVICE == "PYTHON" and _macs(geometry) > PYTHON_DEVICE_MACS:
            return (f"{_macs(geometry):,} multiply-adds on tinygrad's PYTHON device (the kernels interpreted in "
                    f"Python, ~5 us each; chosen because tinygrad's CPU device needs clang, not found) exceed the "
                    f"{PYTHON_DEVICE_MACS:,} this adapter allows; install clang (or set CONVTX_TINYGRAD_DEVICE) to run it")
        return None

    def fallback(self, geometry):
        """torch's padding/output_padding cannot say every crop; tinygrad's per-side padding can."""
        return per_side_crop(geometry)
