"""Keras 3: Conv{1,2,3}DTranspose and Conv{1,2,3}D layers, as cases spell them.

conv_transpose, with K = d*(k-1)+1 and L the full length:
- 'valid': crop (0, -op); op None means max(s - K, 0) (zero extension up to i*s);
- 'same':  P = K - s if op is None else K - K%2 - op; crop (floor(max(P,0)/2), P - lo).
The layer refuses op >= s, and strides > 1 together with dilation_rate > 1.
conv: 'valid' = no padding; 'same' pads max((ceil(i/s)-1)*s + K - i, 0) with the extra at the end;
'causal' (1-D only) pads K-1 at the start.  Kernel layouts: transpose (*k, C_out, C_in), conv
(*k, C_in/g, C_out); data_format channels_last (default) or channels_first.
"""

from __future__ import annotations

from convtx.harness.semantics.common import (ArgError, Dialect, FuzzDraw, InvalidArguments, Layout, Shapes,
                                             Spelling, channels_first, channels_last, check_groups, check_positive,
                                             ints, one_of)
from convtx.harness.semantics.shared import (axis_numbers, axis_values, draw_pads, if_dilated, keras_size_formula,
                                             per_axis_args,
                                             keras_transpose_crop, refuse_strided_dilation, same_forward_pads,
                                             word_or_pairs)
from convtx.harness.core.problem import Axis, Geometry, dilated_extent, output_length

_LAYER = {"filters": None, "kernel_size": None, "strides": 1, "dilation_rate": 1,
          "data_format": "channels_last"}


class KerasDialect(Dialect):
    fuzzable = True
    name = "keras"
    install_hint = "pip install '.[keras]'"
    ops = {
        "conv_transpose": {**_LAYER, "padding": "valid", "output_padding": None},
        "conv": {**_LAYER, "padding": "valid", "groups": 1},
    }

    def layout(self, op, args, ndim):
        fmt = args["data_format"]  # None: keras.config.image_data_format(), channels_last unless configured
        fmt = "channels_last" if fmt is None else one_of(fmt, ("channels_last", "channels_first"), "args.data_format",
                                                          fold_case=True)
        acts = channels_last(ndim) if fmt == "channels_last" else channels_first(ndim)
        weight = (*range(ndim), "out", "in") if op == "conv_transpose" else (*range(ndim), "in", "out")
        return Layout(acts, weight, acts)

    def axes(self, shapes: Shapes, args):
        n = shapes.ndim
        groups = args.get("groups", 1)
        check_groups(shapes, groups, "args.groups")
        self._check_layer_args(shapes, args, groups)
        strides = ints(args["strides"], n, "args.strides", minimum=1)
        dilation = ints(args["dilation_rate"], n, "args.dilation_rate", minimum=1)
        if shapes.op == "conv":
            return conv_axes(shapes, args, strides, dilation), groups
        return transpose_axes(shapes, args, strides, dilation), groups

    def _check_layer_args(self, shapes, args, groups):
        c_out = shapes.weight[1] * groups if shapes.op == "conv_transpose" else shapes.weight[0]
        if args["filters"] is not None and args["filters"] != c_out:
            raise ArgError("args.filters", f"says {args['filters']} but the kernel has {c_out} filters")
        if args["kernel_size"] is not None:
            k = ints(args["kernel_size"], shapes.ndim, "args.kernel_size", minimum=1)
            if k != shapes.kernel:
                raise ArgError("args.kernel_size", f"says {list(k)} but the kernel is {list(shapes.kernel)}")

    def size_formula(self, args, g: Geometry, axis: int) -> str | None:
        if not isinstance(args.get("padding"), str):
            return None
        op = args.get("output_padding")
        op = None if op is None else axis_values(op, g.ndim)[axis]
        return keras_size_formula(args["padding"].lower(), op, axis_numbers(g, axis))

    def spelling(self, args, ndim: int) -> Spelling:
        return word_or_pairs(args.get("padding", "valid"), args.get("output_padding"), ndim)

    def naive_args(self, sp: Spelling, g: Geometry) -> dict:
        mode = sp.kind if sp.kind in ("same", "valid") else ("same" if any(sp.numbers) else "valid")
        out = {"strides": [a.stride for a in g.axes], "padding": mode}
        if sp.nonzero_output_padding:
            out["output_padding"] = sp.nonzero_output_padding
        return {**out, **if_dilated("dilation_rate", g)}

    def fuzz_args(self, c: FuzzDraw) -> dict:
        s, d = list(c.stride), list(c.dilation)
        mode = "same" if c.mode % 2 else "valid"
        args = {"strides": s, "padding": mode, "dilation_rate": d}
        if c.op == "conv":
            return {"strides": s, "dilation_rate": d, "padding": mode}
        if c.flags & 1:
            args["output_padding"] = [h % ss for h, ss in zip(draw_pads(c)[1], s)]
        return args

    def candidates(self, g):
        """Keras layer arguments that could mean geometry g (verified by `read` before use)."""
        if g.groups != 1 and g.op == "conv_transpose":
            return
        base = per_axis_args(g, "strides", "dilation_rate", "groups")
        if g.op == "conv":
            for mode in ("valid", "same", "causal"):
                yield {**base, "padding": mode}
            return
        for mode in ("valid", "same"):
            yield {**base, "padding": mode}
            ops = []
            for k, a in zip(g.kernel, g.axes):
                K = dilated_extent(k, a.dilation)
                ops.append(-a.hi if mode == "valid" else K - K % 2 - (a.lo + a.hi))
            if all(0 <= op < a.stride for op, a in zip(ops, g.axes)):
                yield {**base, "padding": mode, "output_padding": ops}

    def why_not(self, g) -> str:
        if g.groups != 1 and g.op == "conv_transpose":
            return f"Keras 3 Conv*DTranspose layers have no groups (this call has groups={g.groups})"
        if any(a.stride > 1 for a in g.axes) and any(a.dilation > 1 for a in g.axes):
            return "Keras refuses strides > 1 together with dilation_rate > 1"
        if g.op == "conv":
            return f"Keras Conv layers pad only 'valid', 'same' or 'causal'; this needs pads {list(g.crops)}"
        return (f"crop {list(g.crops)} is neither 'valid' (crop (0, -output_padding)) nor 'same' (a balanced crop, "
                "any odd pixel cropped at the end), with output_padding None or < strides. "
                "Equivalent: padding='valid', then slice/zero-pad")


def transpose_axes(shapes: Shapes, args, strides, dilation) -> tuple[Axis, ...]:
    n = shapes.ndim
    padding = one_of(args["padding"], ("valid", "same"), "args.padding", fold_case=True)
    out_pad = args["output_padding"]
    out_pad = None if out_pad is None else ints(out_pad, n, "args.output_padding", minimum=0)
    refuse_strided_dilation(strides, dilation, "args.dilation_rate")
    if out_pad is not None and any(op >= s for op, s in zip(out_pad, strides)):
        raise InvalidArguments("args.output_padding", f"output_padding={list(out_pad)} must be "
                               f"smaller than strides={list(strides)}")
    axes = []
    for i, k, s, d, a in zip(shapes.in_size, shapes.kernel, strides, dilation, range(n)):
        op = None if out_pad is None else out_pad[a]
        axes.append(Axis(s, d, *keras_transpose_crop(padding, dilated_extent(k, d), s, op)))
    sizes = [output_length("conv_transpose", i, k, a)
             for i, k, a in zip(shapes.in_size, shapes.kernel, axes)]
    check_positive(sizes, "the output size", "args.padding")
    return tuple(axes)


def conv_axes(shapes: Shapes, args, strides, dilation) -> tuple[Axis, ...]:
    padding = one_of(args["padding"], ("valid", "same", "causal"), "args.padding", fold_case=True)
    refuse_strided_dilation(strides, dilation, "args.dilation_rate")
    if padding == "causal" and shapes.ndim != 1:
        raise InvalidArguments("args.padding", "padding='causal' exists only for Conv1D")
    axes = []
    for i, k, s, d in zip(shapes.in_size, shapes.kernel, strides, dilation):
        K = dilated_extent(k, d)
        pads = {"valid": (0, 0), "causal": (K - 1, 0)}.get(padding) or same_forward_pads(i, K, s)
        axes.append(Axis(s, d, *pads))
    sizes = [output_length("conv", i, k, a) for i, k, a in zip(shapes.in_size, shapes.kernel, axes)]
    check_positive(sizes, "the output size", "args.padding")
    return tuple(axes)


__all__ = ["DIALECT", "candidates", "why_not"]

DIALECT = KerasDialect()
