"""PyTorch: nn.ConvTranspose{1,2,3}d / F.conv_transpose*d and nn.Conv{1,2,3}d, as cases spell them.

conv_transpose: crop (lo, hi) = (p, p - op); torch refuses op >= max(stride, dilation) and
padding='same'.  `output_size=` (the module's forward argument) picks op = size - min_size, with
min_size = L - 2p, and must lie in [min_size, min_size + stride - 1].
conv: pad (lo, hi) = (p, p); 'valid' = 0; 'same' (stride 1 only) = d*(k-1) split with the extra
element at the end.  Layouts: NC* input, weight (C_in, C_out/g, *k) / (C_out, C_in/g, *k).
"""

from __future__ import annotations

from convtx.harness.semantics.common import (ArgError, Dialect, InvalidArguments, Layout, Shapes, canonical_weight_roles,
                     channels_first, check_groups, check_positive, ints)
from convtx.harness.core.problem import Axis, dilated_extent, full_length, output_length

_MODULE = {"in_channels": None, "out_channels": None, "kernel_size": None}


class TorchDialect(Dialect):
    name = "torch"
    install_hint = "pip install '.[torch]'"
    ops = {
        "conv_transpose": {**_MODULE, "stride": 1, "padding": 0, "output_padding": 0, "groups": 1,
                           "dilation": 1, "output_size": None},
        "conv": {**_MODULE, "stride": 1, "padding": 0, "groups": 1, "dilation": 1},
    }

    def layout(self, op, args, ndim):
        return Layout(channels_first(ndim), canonical_weight_roles(op, ndim), channels_first(ndim))

    def axes(self, shapes: Shapes, args):
        n = shapes.ndim
        groups = args["groups"]
        check_groups(shapes, groups, "args.groups")
        check_module_args(shapes, args, groups)
        stride = ints(args["stride"], n, "args.stride", minimum=1)
        dilation = ints(args["dilation"], n, "args.dilation", minimum=1)
        if shapes.op == "conv":
            return conv_axes(shapes, args, stride, dilation), groups
        return transpose_axes(shapes, args, stride, dilation), groups


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
    pad = ints(args["padding"], n, "args.padding", minimum=0)
    if args["output_size"] is not None:
        out_pad = _output_padding_from_size(shapes, args["output_size"], stride, pad, dilation)
    else:
        out_pad = ints(args["output_padding"], n, "args.output_padding", minimum=0)
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
        pairs = [(p, p) for p in ints(padding, n, "args.padding", minimum=0)]
    axes = tuple(Axis(s, d, lo, hi) for s, d, (lo, hi) in zip(stride, dilation, pairs))
    sizes = [output_length("conv", i, k, a) for i, k, a in zip(shapes.in_size, shapes.kernel, axes)]
    check_positive(sizes, "the output size", "args.padding")
    return axes


DIALECT = TorchDialect()


def compact(values) -> int | list[int]:
    """One int when every axis agrees, else the list."""
    values = list(values)
    return values[0] if len(set(values)) == 1 else values


def base_args(g) -> dict:
    """stride, and dilation/groups where not 1: spelled alike by torch and paddle."""
    base = {"stride": compact(a.stride for a in g.axes)}
    if any(a.dilation != 1 for a in g.axes):
        base["dilation"] = compact(a.dilation for a in g.axes)
    if g.groups != 1:
        base["groups"] = g.groups
    return base


def candidates(g):
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


def why_not(g) -> str:
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
