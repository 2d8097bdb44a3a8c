"""PyTorch: nn.ConvTranspose{1,2,3}d / F.conv_transpose*d and nn.Conv{1,2,3}d, as cases spell them.

conv_transpose: crop (lo, hi) = (p, p - op); torch refuses op >= max(stride, dilation) and
padding='same'.  `output_size=` (the module's forward argument) picks op = size - min_size, with
min_size = L - 2p, and must lie in [min_size, min_size + stride - 1].
conv: pad (lo, hi) = (p, p); 'valid' = 0; 'same' (stride 1 only) = d*(k-1) split with the extra
element at the end.  stride/padding/output_padding/dilation: an int, n ints or one int in a list (torch
expands it); output_size: n or n+2 ints, never one int.  Layouts: NC* input, weight (C_in, C_out/g, *k) / (C_out, C_in/g, *k).
"""

from __future__ import annotations

from convtx.harness.semantics.common import (ArgError, Dialect, FuzzDraw, InvalidArguments, Layout, Shapes, Spelling,
                                             canonical_weight_roles, channels_first, check_groups, check_positive,
                                             ints)
from convtx.harness.semantics.shared import (axis_numbers, axis_values, base_args, compact, draw_pads, if_dilated,
                                             if_grouped, per_axis, per_axis_or_none)
from convtx.harness.core.problem import Axis, Geometry, dilated_extent, full_length, output_length

_MODULE = {"in_channels": None, "out_channels": None, "kernel_size": None}


class TorchDialect(Dialect):
    fuzzable = True
    name = "torch"
    install_hint = "pip install '.[torch]'"
    ops = {
        "conv_transpose": {**_MODULE, "stride": 1, "padding": 0, "output_padding": 0, "groups": 1,
                           "dilation": 1, "output_size": None},
        "conv": {**_MODULE, "stride": 1, "padding": 0, "groups": 1, "dilation": 1},
    }
    fuzz_groups = True

    def layout(self, op, args, ndim):
        return Layout(channels_first(ndim), canonical_weight_roles(op, ndim), channels_first(ndim))

    def axes(self, shapes: Shapes, args):
        n = shapes.ndim
        groups = args["groups"]
        check_groups(shapes, groups, "args.groups")
        check_module_args(shapes, args, groups)
        stride = per_axis_ints(args["stride"], n, "args.stride", minimum=1)
        dilation = per_axis_ints(args["dilation"], n, "args.dilation", minimum=1)
        if shapes.op == "conv":
            return conv_axes(shapes, args, stride, dilation), groups
        return transpose_axes(shapes, args, stride, dilation), groups

    def size_formula(self, args, g: Geometry, axis: int) -> str:
        x = axis_numbers(g, axis)
        p = axis_values(_expanded(args.get("padding", 0), g.ndim), g.ndim)[axis]
        op = p - g.axes[axis].hi
        return (f"(i-1)*s - 2*p + d*(k-1) + op + 1 = ({x.i}-1)*{x.s} - 2*{p} + {x.d}*({x.k}-1) + {op} + 1 = "
                f"{x.out}")

    def spelling(self, args, ndim: int) -> Spelling:
        pad = args.get("padding", 0)
        return Spelling(("same",) if pad == "same" else ("int", per_axis(_expanded(pad, ndim), ndim)),
                        per_axis_or_none(_expanded(args.get("output_padding"), ndim), ndim))

    def naive_args(self, sp: Spelling, g: Geometry) -> dict:
        numbers = sp.numbers
        if sp.kind in ("same", "valid"):
            numbers = [a.dilation * (k - 1) // 2 if sp.kind == "same" else 0 for k, a in zip(g.kernel, g.axes)]
        out = {"stride": [a.stride for a in g.axes], "padding": numbers}
        if sp.nonzero_output_padding:
            out["output_padding"] = sp.nonzero_output_padding
        return {**out, **if_dilated("dilation", g), **if_grouped("groups", g)}

    def fuzz_args(self, c: FuzzDraw) -> dict:
        """padding from the lows; conv_transpose: output_padding from the highs, below max(stride, dilation)."""
        s, d = list(c.stride), list(c.dilation)
        lo, hi = draw_pads(c)
        if c.op == "conv":
            return {"stride": s, "dilation": d, "groups": c.groups, "padding": lo}
        return {"stride": s, "padding": lo, "output_padding": [h % max(ss, dd) for h, ss, dd in zip(hi, s, d)],
                "dilation": d, "groups": c.groups}

    def candidates(self, g):
        """torch arguments that could mean geometry g (each is verified by `read` before use)."""
        base = base_args(g)
        if g.op == "conv":
            if all(a.lo == a.hi >= 0 for a in g.axes):
                pad = compact(a.lo for a in g.axes)
                yield {**base, "padding": pad} if pad else base
            yield {**base, "padding": "same"}
            return
        pad = [a.lo for a in g.axes]
        out_pad = [a.lo - a.hi for a in g.axes]
        args = dict(base)
        if any(pad):
            args["padding"] = compact(pad)
        if any(out_pad):
            args["output_padding"] = compact(out_pad)
        yield args

    def why_not(self, g) -> str:
        if g.op == "conv":
            return ("torch's Conv pads both ends of an axis by the same amount (or 'same' at stride 1); "
                    f"this needs pads {list(g.crops)}. Equivalent: F.pad(x, ...) then padding=0")
        bad = [(j, a) for j, a in enumerate(g.axes) if not (a.lo >= 0 and 0 <= a.lo - a.hi < max(a.stride, a.dilation))]
        j, a = bad[0]
        if a.hi > a.lo:
            what = (f"crop ({a.lo}, {a.hi}) on axis {j} crops more at the end than at the start; torch's padding p "
                    "crops p at both ends and output_padding only gives back at the end (crop (p, p - op))")
        elif a.lo < 0:
            what = f"crop ({a.lo}, {a.hi}) on axis {j} adds zeros at the start; torch can add them only at the end"
        else:
            what = (f"crop ({a.lo}, {a.hi}) on axis {j} needs output_padding {a.lo - a.hi}, but torch requires "
                    f"output_padding < max(stride, dilation) = {max(a.stride, a.dilation)}")
        return f"{what}. Equivalent: padding=0, then slice/zero-pad the full output"


def per_axis_ints(value, n: int, field: str, minimum: int) -> tuple[int, ...]:
    """An int, or a list of n ints, or of one int (torch expands it to every axis)."""
    vals = ints(value, n, field, minimum=minimum, allow_len=(1,) if n > 1 else ())
    return vals * n if len(vals) == 1 else vals


def _expanded(value, n: int):
    """A per-axis argument as torch expands it (one int, or a one-element list, for every axis)."""
    return value[0] if isinstance(value, (list, tuple)) and len(value) == 1 else value


def check_module_args(shapes: Shapes, args, groups: int) -> None:
    c_out = shapes.weight[1] * groups if shapes.op == "conv_transpose" else shapes.weight[0]
    for key, actual in (("in_channels", shapes.input[1]), ("out_channels", c_out)):
        if args[key] is not None and args[key] != actual:
            raise ArgError(f"args.{key}", f"says {args[key]} but the tensors have {actual}")
    if args["kernel_size"] is not None:
        k = ints(args["kernel_size"], shapes.ndim, "args.kernel_size", minimum=1)
        if k != shapes.kernel:
            raise ArgError("args.kernel_size", f"says {list(k)} but the weight's kernel is "
                           f"{list(shapes.kernel)} (torch would use the weight's)")


def transpose_axes(shapes: Shapes, args, stride, dilation) -> tuple[Axis, ...]:
    n = shapes.ndim
    if isinstance(args["padding"], str):
        raise InvalidArguments("args.padding", f"padding={args['padding']!r} is not supported by "
                               "torch's transposed convolutions (only integers)")
    pad = per_axis_ints(args["padding"], n, "args.padding", minimum=0)
    if args["output_size"] is not None:
        out_pad = _output_padding_from_size(shapes, args["output_size"], stride, pad, dilation)
    else:
        out_pad = per_axis_ints(args["output_padding"], n, "args.output_padding", minimum=0)
    for s, d, op in zip(stride, dilation, out_pad):
        if op >= s and op >= d:
            raise InvalidArguments("args.output_padding",
                                   f"output_padding={list(out_pad)} must be smaller than either "
                                   f"stride={list(stride)} or dilation={list(dilation)}")
    axes = tuple(Axis(s, d, p, p - op) for s, d, p, op in zip(stride, dilation, pad, out_pad))
    sizes = [output_length("conv_transpose", i, k, a)
             for i, k, a in zip(shapes.in_size, shapes.kernel, axes)]
    check_positive(sizes, "the output size (i-1)*s - 2p + d*(k-1) + op + 1", "args.padding")
    return axes


def _output_padding_from_size(shapes, output_size, stride, pad, dilation) -> tuple[int, ...]:
    n = shapes.ndim
    if not isinstance(output_size, (list, tuple)):
        raise ArgError("args.output_size", f"expected a list of {n} (or {n + 2}) integers, e.g. {[6] * n}; "
                       f"forward(x, output_size=...) takes no single integer, got {output_size!r}")
    size = ints(output_size, n, "args.output_size", minimum=1, allow_len=(n + 2,))[-n:]
    out_pad = []
    for i, k, s, p, d, o in zip(shapes.in_size, shapes.kernel, stride, pad, dilation, size):
        lo = full_length(i, k, Axis(s, d, 0, 0)) - 2 * p
        if not lo <= o <= lo + s - 1:
            raise InvalidArguments("args.output_size", f"requested size {list(size)} is not "
                                   f"between {lo} and {lo + s - 1} along an axis")
        out_pad.append(o - lo)
    return tuple(out_pad)


def conv_axes(shapes: Shapes, args, stride, dilation) -> tuple[Axis, ...]:
    n = shapes.ndim
    padding = args["padding"]
    if padding == "valid":
        pairs = [(0, 0)] * n
    elif padding == "same":
        if any(s != 1 for s in stride):
            raise InvalidArguments("args.padding", "padding='same' is not supported for strided "
                                   f"convolutions (stride={list(stride)})")
        pairs = []
        for k, d in zip(shapes.kernel, dilation):
            total = dilated_extent(k, d) - 1
            pairs.append((total // 2, total - total // 2))
    elif isinstance(padding, str):
        raise ArgError("args.padding", f"expected an integer, a list, 'valid' or 'same', got {padding!r}")
    else:
        pairs = [(p, p) for p in per_axis_ints(padding, n, "args.padding", minimum=0)]
    axes = tuple(Axis(s, d, lo, hi) for s, d, (lo, hi) in zip(stride, dilation, pairs))
    sizes = [output_length("conv", i, k, a) for i, k, a in zip(shapes.in_size, shapes.kernel, axes)]
    check_positive(sizes, "the output size", "args.padding")
    return axes


DIALECT = TorchDialect()
