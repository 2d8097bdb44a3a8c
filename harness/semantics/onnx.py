"""ONNX: the ConvTranspose and Conv operators' attributes, as cases spell them (the spec's meaning).

ConvTranspose, with L the full length and op the output_padding:
- pads [b1.., e1..] (auto_pad NOTSET): crop (b, e - op);
- output_shape O: T = L + op - O; SAME_UPPER puts floor(T/2) at the start, otherwise (SAME_LOWER,
  NOTSET) T - floor(T/2); the end crop is L - lo - O;
- auto_pad SAME_UPPER/SAME_LOWER without output_shape: O = i*s (the spec's text; onnxruntime's
  shape inference differs when K < s); VALID: crop (0, -op).
Conv: pads, or SAME_UPPER/SAME_LOWER (output ceil(i/s), extra at the end / start), or VALID.
Layouts: NC* input; W (C_in, C_out/group, *k) / (C_out, C_in/group, *k), as torch.
"""

from __future__ import annotations

from convtx.harness.semantics.common import (ArgError, Dialect, InvalidArguments, Layout, Shapes, canonical_weight_roles,
                     channels_first, check_groups, check_positive, ints, one_of)
from convtx.harness.semantics.keras import same_forward_pads
from convtx.harness.core.problem import Axis, dilated_extent, full_length, output_length

_COMMON = {"auto_pad": "NOTSET", "dilations": 1, "group": 1, "kernel_shape": None, "pads": 0,
           "strides": 1}
_AUTO = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


class OnnxDialect(Dialect):
    name = "onnx"
    install_hint = "pip install '.[onnx]'"
    ops = {
        "conv_transpose": {**_COMMON, "output_padding": 0, "output_shape": None},
        "conv": dict(_COMMON),
    }

    def layout(self, op, args, ndim):
        return Layout(channels_first(ndim), canonical_weight_roles(op, ndim), channels_first(ndim))

    def axes(self, shapes: Shapes, args):
        n = shapes.ndim
        group = args["group"]
        check_groups(shapes, group, "args.group")
        if args["kernel_shape"] is not None:
            k = ints(args["kernel_shape"], n, "args.kernel_shape", minimum=1)
            if k != shapes.kernel:
                raise ArgError("args.kernel_shape", f"says {list(k)} but the weight's kernel is "
                               f"{list(shapes.kernel)}")
        auto = one_of(args["auto_pad"], _AUTO, "args.auto_pad")
        strides = ints(args["strides"], n, "args.strides", minimum=1)
        dilation = ints(args["dilations"], n, "args.dilations", minimum=1)
        pads = _pads(args["pads"], n)
        if auto != "NOTSET" and any(pads[a] != (0, 0) for a in range(n)):
            raise ArgError("args.pads", f"pads cannot be given with auto_pad={auto}")
        if shapes.op == "conv":
            axes = tuple(Axis(s, d, *_conv_pads(auto, i, dilated_extent(k, d), s, p))
                         for i, k, s, d, p in zip(shapes.in_size, shapes.kernel, strides, dilation, pads))
            sizes = [output_length("conv", i, k, a) for i, k, a in zip(shapes.in_size, shapes.kernel, axes)]
        else:
            axes = _transpose_axes(shapes, args, auto, strides, dilation, pads)
            sizes = [output_length("conv_transpose", i, k, a)
                     for i, k, a in zip(shapes.in_size, shapes.kernel, axes)]
        check_positive(sizes, "the output size", "args.pads")
        return axes, group


def _pads(value, n: int) -> list[tuple[int, int]]:
    flat = ints(value, 2 * n, "args.pads", minimum=0)
    return [(flat[a], flat[a + n]) for a in range(n)]


def _conv_pads(auto: str, i: int, K: int, s: int, pads: tuple[int, int]) -> tuple[int, int]:
    if auto == "NOTSET":
        return pads
    if auto == "VALID":
        return (0, 0)
    lo, hi = same_forward_pads(i, K, s)
    return (lo, hi) if auto == "SAME_UPPER" else (hi, lo)


def _transpose_axes(shapes, args, auto, strides, dilation, pads) -> tuple[Axis, ...]:
    n = shapes.ndim
    out_pad = ints(args["output_padding"], n, "args.output_padding", minimum=0)
    out_shape = args["output_shape"]
    if out_shape is not None:
        out_shape = ints(out_shape, n, "args.output_shape", minimum=1, allow_len=(n + 2,))[-n:]
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        out_shape = tuple(i * s for i, s in zip(shapes.in_size, strides))
    axes = []
    for a, (i, k, s, d, op) in enumerate(zip(shapes.in_size, shapes.kernel, strides, dilation, out_pad)):
        L = full_length(i, k, Axis(s, d, 0, 0))
        if out_shape is not None:
            total = L + op - out_shape[a]
            lo = total // 2 if auto == "SAME_UPPER" else total - total // 2
            axes.append(Axis(s, d, lo, L - lo - out_shape[a]))
        elif auto == "VALID":
            axes.append(Axis(s, d, 0, -op))
        else:
            axes.append(Axis(s, d, pads[a][0], pads[a][1] - op))
    if any(op >= max(s, d) for op, s, d in zip(out_pad, strides, dilation)):
        raise InvalidArguments("args.output_padding", f"output_padding={list(out_pad)} must be "
                               f"smaller than strides={list(strides)} or dilations={list(dilation)}")
    return tuple(axes)


DIALECT = OnnxDialect()


def candidates(g):
    """ONNX attributes that could mean geometry g (verified by `read` before use)."""
    base = {"strides": [a.stride for a in g.axes]}
    if any(a.dilation != 1 for a in g.axes):
        base["dilations"] = [a.dilation for a in g.axes]
    if g.groups != 1:
        base["group"] = g.groups
    if g.op == "conv":
        if all(a.lo >= 0 and a.hi >= 0 for a in g.axes):
            yield {**base, "pads": [a.lo for a in g.axes] + [a.hi for a in g.axes]}
        return
    out_pad = [max(0, -a.hi) for a in g.axes]
    args = {**base, "pads": [a.lo for a in g.axes] + [a.hi + op for a, op in zip(g.axes, out_pad)]}
    if any(out_pad):
        args["output_padding"] = out_pad
    yield args


def why_not(g) -> str:
    if g.op == "conv":
        return f"ONNX Conv pads cannot be negative; this needs pads {list(g.crops)}"
    return (f"crop {list(g.crops)} needs zeros at the start, or output_padding >= max(stride, dilation); "
            "ONNX ConvTranspose crops (pads_begin, pads_end - output_padding) with pads >= 0")
