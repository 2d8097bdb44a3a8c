"""ONNX: the ConvTranspose and Conv operators' attributes, as cases spell them (the spec's meaning).

ConvTranspose, with L the full length and op the output_padding:
- pads [b1.., e1..] (auto_pad NOTSET): crop (b, e - op);
- output_shape O: T = L + op - O; SAME_UPPER puts floor(T/2) at the start, otherwise (SAME_LOWER,
  NOTSET) T - floor(T/2); the end crop is L - lo - O;
- auto_pad SAME_UPPER/SAME_LOWER without output_shape: O = i*s (the spec's text; onnxruntime's
  shape inference differs when K < s); VALID: crop (0, -op).
Conv: pads, or SAME_UPPER/SAME_LOWER (output ceil(i/s), extra at the end / start), or VALID.
Layouts: NC* input; W (C_in, C_out/group, *k) / (C_out, C_in/group, *k), as torch.
Attributes as the format has them: strides, dilations, pads, output_padding, output_shape (spatial) and
kernel_shape are lists of one value per axis (pads: per axis end), never one int; pads not with auto_pad.
"""

from __future__ import annotations

from convtx.harness.semantics.common import (ArgError, Dialect, FuzzDraw, InvalidArguments, Layout, Shapes, Spelling,
                                             canonical_weight_roles, channels_first, check_groups, check_positive,
                                             ints, one_of)
from convtx.harness.semantics.shared import (axis_numbers, axis_values, draw_full_lengths, draw_pads, if_dilated,
                                             per_axis_args,
                                             if_grouped, per_axis, same_forward_pads)
from convtx.harness.core.problem import Axis, Geometry, dilated_extent, full_length, output_length

_COMMON = {"auto_pad": "NOTSET", "dilations": None, "group": 1, "kernel_shape": None, "pads": None,
           "strides": None}  # None: the attribute is absent (strides and dilations 1, pads 0)
_AUTO = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


class OnnxDialect(Dialect):
    fuzzable = True
    name = "onnx"
    install_hint = "pip install '.[onnx]'"
    ops = {
        "conv_transpose": {**_COMMON, "output_padding": None, "output_shape": None},
        "conv": dict(_COMMON),
    }
    fuzz_groups = True

    def layout(self, op, args, ndim):
        return Layout(channels_first(ndim), canonical_weight_roles(op, ndim), channels_first(ndim))

    def axes(self, shapes: Shapes, args):
        n = shapes.ndim
        group = args["group"]
        check_groups(shapes, group, "args.group")
        if args["kernel_shape"] is not None:
            k = attribute_ints(args["kernel_shape"], n, "args.kernel_shape", 1)
            if k != shapes.kernel:
                raise ArgError("args.kernel_shape", f"says {list(k)} but the weight's kernel is "
                               f"{list(shapes.kernel)}")
        auto = one_of(args["auto_pad"], _AUTO, "args.auto_pad")
        strides = attribute_ints(args["strides"], n, "args.strides", 1)
        dilation = attribute_ints(args["dilations"], n, "args.dilations", 1)
        pads = _pads(args["pads"], n)
        if auto != "NOTSET" and args["pads"] is not None:
            raise ArgError("args.pads", f"pads cannot be given with auto_pad={auto} (not even zeros: onnxruntime "
                           "refuses the model)")
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

    def size_formula(self, args, g: Geometry, axis: int) -> str:
        x, n = axis_numbers(g, axis), g.ndim
        if args.get("output_shape") is not None:
            return f"output_shape[{axis}] = {x.out}"
        if args.get("auto_pad") in ("SAME_UPPER", "SAME_LOWER"):
            return f"i*s = {x.i}*{x.s} = {x.out}"
        pads = axis_values(args.get("pads", 0), 2 * n)
        op = axis_values(args.get("output_padding", 0), n)[axis]
        return (f"s*(i-1) + op + K - pad_begin - pad_end = {x.s}*({x.i}-1) + {op} + {x.K} - {pads[axis]} - "
                f"{pads[axis + n]} = {x.out}")

    def spelling(self, args, ndim: int) -> Spelling:
        auto, op = args.get("auto_pad", "NOTSET"), args.get("output_padding")
        op = per_axis(op, ndim) if op else None
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            return Spelling(("same",), op)
        if auto == "VALID":
            return Spelling(("valid",), op)
        pads = per_axis(args.get("pads", 0), 2 * ndim)
        return Spelling(("pairs", [(pads[a], pads[a + ndim]) for a in range(ndim)]), op)

    def naive_args(self, sp: Spelling, g: Geometry) -> dict:
        out = {"strides": [a.stride for a in g.axes], **if_dilated("dilations", g), **if_grouped("group", g)}
        if sp.kind in ("same", "valid"):
            out["auto_pad"] = "SAME_UPPER" if sp.kind == "same" else "VALID"
        else:
            pairs = sp.pad[1] if sp.kind == "pairs" else [(p, p) for p in sp.numbers]
            out["pads"] = [lo for lo, _ in pairs] + [hi for _, hi in pairs]
        if sp.nonzero_output_padding:
            out["output_padding"] = sp.nonzero_output_padding
        return out

    def fuzz_args(self, c: FuzzDraw) -> dict:
        """conv_transpose: mode 0 pads, 1 SAME_UPPER, 2 SAME_LOWER, 3 output_shape; flags bit 0:
        output_padding.  conv: pads."""
        s, d = list(c.stride), list(c.dilation)
        lo, hi = draw_pads(c)
        args = {"strides": s, "dilations": d, "group": c.groups}
        if c.op == "conv":
            return {**args, "pads": lo + hi}
        mode = c.mode % 4
        op = [h % ss for h, ss in zip(hi, s)] if c.flags & 1 else [0] * c.ndim
        if any(op):
            args["output_padding"] = op
        if mode == 0:
            return {**args, "pads": lo + hi}
        if mode == 3:
            return {**args, "output_shape": [max(Li - a - b, 1) for Li, a, b in zip(draw_full_lengths(c), lo, hi)]}
        return {**args, "auto_pad": "SAME_UPPER" if mode == 1 else "SAME_LOWER"}

    def candidates(self, g):
        """ONNX attributes that could mean geometry g (verified by `read` before use)."""
        base = per_axis_args(g, "strides", "dilations", "group")
        if g.op == "conv":
            if all(a.lo >= 0 and a.hi >= 0 for a in g.axes):
                yield {**base, "pads": [a.lo for a in g.axes] + [a.hi for a in g.axes]}
            return
        out_pad = [max(0, -a.hi) for a in g.axes]
        args = {**base, "pads": [a.lo for a in g.axes] + [a.hi + op for a, op in zip(g.axes, out_pad)]}
        if any(out_pad):
            args["output_padding"] = out_pad
        yield args

    def why_not(self, g) -> str:
        if g.op == "conv":
            return f"ONNX Conv pads cannot be negative; this needs pads {list(g.crops)}"
        return (f"crop {list(g.crops)} needs zeros at the start, or output_padding >= max(stride, dilation); "
                "ONNX ConvTranspose crops (pads_begin, pads_end - output_padding) with pads >= 0")


def attribute_ints(value, n: int, field: str, minimum: int, default: int = 1) -> tuple[int, ...]:
    """An INTS attribute: a list of exactly n integers (ONNX has no single-integer form: an int makes an INT
    attribute, which the checker refuses); None (absent) is the default on every axis."""
    if value is None:
        return (default,) * n
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise ArgError(field, f"expected a list of {n} integers (an ONNX INTS attribute has one value per "
                       f"{'axis end' if field == 'args.pads' else 'spatial axis'}; no single integer), got {value!r}")
    return ints(list(value), n, field, minimum=minimum)


def _pads(value, n: int) -> list[tuple[int, int]]:
    flat = attribute_ints(value, 2 * n, "args.pads", 0, default=0)
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
    out_pad = attribute_ints(args["output_padding"], n, "args.output_padding", 0, default=0)
    out_shape = args["output_shape"]
    if out_shape is not None:
        out_shape = attribute_ints(out_shape, n, "args.output_shape", 1)
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
