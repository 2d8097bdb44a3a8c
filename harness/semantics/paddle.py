"""PaddlePaddle: paddle.nn.functional.conv{1,2,3}d_transpose and conv{1,2,3}d, as cases spell them.

Measured on paddle 3.3.1 (CPU) over grids of sizes, kernels, strides, dilations and paddings:

conv_transpose, with L the full length and op the output_padding:
- `padding` an int, n ints, 2n ints `[before_0, after_0, before_1, after_1, ...]` (first spatial
  axis first) or n+2 pairs `[[0, 0], [0, 0], [b, a], ...]` (batch and channel pairs, placed as
  `data_format` puts those axes, must be [0, 0]); every value >= 0: crop (before, after - op),
  i.e. torch's (p, p - op) for an int;
- 'SAME' (any letter case): the forward convolution's SAME padding applied to the *input* length,
  Pp = max((ceil(i/s) - 1)*s + k - i, 0), crop (floor(Pp/2), Pp - floor(Pp/2) - op), and the
  dilation is IGNORED (reset to 1 for the computation too).  The output is i*s only when s divides
  i and k >= s; Keras 'same' / TF 'SAME' give i*s always;
- 'VALID': crop (0, -op), the dilation kept;
- `output_size` O (exclusive with output_padding): crop (lo, L - lo - O), lo as above, O in
  [L - lo - hi, L - lo - hi + s - 1];
- the CPU kernels refuse op >= stride even where op < dilation (the shape check's message says
  "less than either stride or dilation", the CPU col2im then fails).
conv: pads (before, after) from the same spellings; 'SAME' pads Pp = max((ceil(i/s)-1)*s + k - i, 0)
with the extra element at the end, dilation again ignored; 'VALID' pads nothing.
Layouts: `data_format` NCL/NCHW/NCDHW (default) or NLC/NHWC/NDHWC for input and output; the weight
is always (C_in, C_out/g, *k) for the transposed convolution and (C_out, C_in/g, *k) for conv.
"""

from __future__ import annotations

from convtx.harness.semantics.common import (ArgError, Dialect, FuzzDraw, InvalidArguments, Layout, Shapes, Spelling,
                                             canonical_weight_roles, channels_first, channels_last, check_groups,
                                             check_positive, ints, one_of)
from convtx.harness.semantics.shared import (base_args, compact, draw_pads, if_dilated, if_grouped, padding_by_name,
                                             per_axis_or_none, same_forward_pads)
from convtx.harness.core.problem import Axis, Geometry, full_length, output_length

_FORMATS = {1: ("NCL", "NLC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}
_COMMON = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "data_format": None}


class PaddleDialect(Dialect):
    fuzzable = True
    name = "paddle"
    install_hint = "pip install '.[paddle]'"
    ops = {
        "conv_transpose": {**_COMMON, "output_padding": 0, "output_size": None},
        "conv": dict(_COMMON),
    }
    fuzz_groups = True

    def check_args(self, op, args):
        if "data_format" in args and args["data_format"] is None:
            raise ArgError("args.data_format", "paddle refuses data_format=None: leave it out (channels first) or "
                           "write 'NCHW' / 'NHWC' (NCL/NLC in 1-D, NCDHW/NDHWC in 3-D)")
        return super().check_args(op, args)

    def layout(self, op, args, ndim):
        acts = channels_last(ndim) if channel_last(args, ndim) else channels_first(ndim)
        return Layout(acts, canonical_weight_roles(op, ndim), acts)

    def axes(self, shapes: Shapes, args):
        n = shapes.ndim
        groups = args["groups"]
        check_groups(shapes, groups, "args.groups")
        stride = ints(args["stride"], n, "args.stride", minimum=1)
        dilation = ints(args["dilation"], n, "args.dilation", minimum=1)
        mode, pairs = padding_pairs(args["padding"], n, channel_last(args, n))
        if mode == "SAME":  # paddle resets the dilation to 1 in SAME mode: K = k
            dilation = (1,) * n
            pairs = [same_forward_pads(i, k, s) for i, k, s in zip(shapes.in_size, shapes.kernel, stride)]
        if shapes.op == "conv":
            axes = tuple(Axis(s, d, *p) for s, d, p in zip(stride, dilation, pairs))
            sizes = [output_length("conv", i, k, a) for i, k, a in zip(shapes.in_size, shapes.kernel, axes)]
            check_positive(sizes, "the output size", "args.padding")
            return axes, groups
        return transpose_axes(shapes, args, stride, dilation, pairs), groups

    def spelling(self, args, ndim: int) -> Spelling:
        return Spelling(_spelled_padding(args.get("padding", 0), ndim),
                        per_axis_or_none(args.get("output_padding"), ndim))

    def naive_args(self, sp: Spelling, g: Geometry) -> dict:
        pad = padding_by_name(sp, lambda pairs: [v for pair in pairs for v in pair], lambda numbers: numbers)
        out = {"stride": [a.stride for a in g.axes], "padding": pad, **if_dilated("dilation", g),
               **if_grouped("groups", g)}
        op = sp.nonzero_output_padding
        return {**out, **({"output_padding": op} if op else {})}

    def fuzz_args(self, c: FuzzDraw) -> dict:
        """conv_transpose: padding mode 0 the lows per axis, 1 [before_0, after_0, ...] from the lows and
        highs, 2 'SAME', 3 'VALID'; flags bit 0: output_padding (from the highs, below the stride, which
        paddle's CPU kernels require); flags bit 1: channels-last data_format.  conv: mode 0 the
        [before, after, ...] list, 1 'SAME'."""
        s, d = list(c.stride), list(c.dilation)
        lo, hi = draw_pads(c)
        pairs = [v for a, b in zip(lo, hi) for v in (a, b)]
        layout = {"data_format": _FORMATS[c.ndim][1]} if c.flags & 2 else {}
        if c.op == "conv":
            return {"stride": s, "padding": "SAME" if c.mode % 2 else pairs, "dilation": d, "groups": c.groups,
                    **layout}
        args = {"stride": s, "padding": (lo, pairs, "SAME", "VALID")[c.mode % 4]}
        if c.flags & 1:
            args["output_padding"] = [h % ss for h, ss in zip(hi, s)]
        return {**args, "dilation": d, "groups": c.groups, **layout}

    def candidates(self, g):
        """paddle arguments that could mean geometry g (each is verified by `read` before use)."""
        base = base_args(g)
        if g.op == "conv":
            if all(a.lo == a.hi for a in g.axes):
                pad = compact(a.lo for a in g.axes)
                yield {**base, "padding": pad} if pad else base
            yield {**base, "padding": [v for a in g.axes for v in (a.lo, a.hi)]}
            return
        # torch's spelling first: padding p, output_padding op = crop (p, p - op)
        args = dict(base)
        pad = [a.lo for a in g.axes]
        out_pad = [a.lo - a.hi for a in g.axes]
        if any(pad):
            args["padding"] = compact(pad)
        if any(out_pad):
            args["output_padding"] = compact(out_pad)
        yield args
        # then the asymmetric [before, after, ...] form, output_padding only for zero extension at the end
        out_pad = [max(0, -a.hi) for a in g.axes]
        args = {**base, "padding": [v for a, op in zip(g.axes, out_pad) for v in (a.lo, a.hi + op)]}
        if any(out_pad):
            args["output_padding"] = compact(out_pad)
        yield args

    def why_not(self, g) -> str:
        if g.op == "conv":
            return f"paddle's conv pads cannot be negative; this needs pads {list(g.crops)}"
        for j, a in enumerate(g.axes):
            if a.lo < 0:
                return (f"crop ({a.lo}, {a.hi}) on axis {j} adds zeros at the start; paddle crops (before, after - "
                        "output_padding) with before, after >= 0, so zeros can only be added at the end")
            if -a.hi >= a.stride:
                return (f"crop ({a.lo}, {a.hi}) on axis {j} adds {-a.hi} zeros at the end, which needs output_padding "
                        f"{-a.hi}; paddle's CPU kernels require output_padding < stride = {a.stride} (its shape check "
                        "allows output_padding < dilation, the CPU kernel then fails)")
        return f"no paddle padding gives crop {list(g.crops)}"


def channel_last(args, ndim: int) -> bool:
    fmt = args.get("data_format")
    if fmt is None:
        return False
    return one_of(fmt, _FORMATS[ndim], "args.data_format") == _FORMATS[ndim][1]


def padding_pairs(padding, n: int, last: bool) -> tuple[str, list[tuple[int, int]]]:
    """('SAME' | 'VALID' | 'EXPLICIT', [(before, after)] per spatial axis), as paddle parses it."""
    if isinstance(padding, str):
        mode = one_of(padding, ("SAME", "VALID"), "args.padding", fold_case=True)
        return mode, [(0, 0)] * n
    if isinstance(padding, list) and len(padding) == n + 2 and all(isinstance(p, list) for p in padding):
        pairs = []
        for j, p in enumerate(padding):
            if len(p) != 2:
                raise ArgError("args.padding", f"expected [before, after] pairs, got {padding!r}")
            before, after = ints(p, 2, "args.padding", minimum=0)
            pairs.append((before, after))
        outer = (0, n + 1) if last else (0, 1)
        if any(pairs[j] != (0, 0) for j in outer):
            raise InvalidArguments("args.padding", f"non-zero padding {padding!r} in the batch or channel "
                                   "dimensions is not supported by paddle")
        spatial = pairs[1:-1] if last else pairs[2:]
        return "EXPLICIT", spatial
    if isinstance(padding, list) and len(padding) == 2 * n and n > 0:
        flat = ints(padding, 2 * n, "args.padding", minimum=0)
        return "EXPLICIT", [(flat[2 * a], flat[2 * a + 1]) for a in range(n)]
    if isinstance(padding, (int, list)) and not isinstance(padding, bool):
        try:
            per_axis = ints(padding, n, "args.padding", minimum=0)
        except ArgError as err:
            if "must be >= 0" in err.message:
                raise
            raise ArgError("args.padding", f"expected 'SAME', 'VALID', an integer, {n} integers, {2 * n} "
                           f"integers [before, after, ...] or {n + 2} [before, after] pairs, "
                           f"got {padding!r}") from None
        return "EXPLICIT", [(p, p) for p in per_axis]
    raise ArgError("args.padding", f"expected 'SAME', 'VALID', an integer, {n} integers, {2 * n} integers "
                   f"[before, after, ...] or {n + 2} [before, after] pairs, got {padding!r}")


def _spelled_padding(pad, n: int) -> tuple:
    """`padding` as a porter reads it (a `Spelling.pad`): the word, the per-axis ints, or the pairs."""
    if isinstance(pad, str):
        return (pad.lower(),) if pad.lower() in ("same", "valid") else ("valid",)
    if isinstance(pad, int):
        return ("int", [pad] * n)
    if all(isinstance(p, list) for p in pad):
        pairs = [tuple(p) for p in pad]
        return ("pairs", pairs[2:] if len(pairs) == n + 2 and pairs[0] == (0, 0) else pairs[-n:])
    if len(pad) == 2 * n:  # [before_0, after_0, before_1, after_1, ...]
        return ("pairs", [(pad[2 * a], pad[2 * a + 1]) for a in range(n)])
    return ("int", list(pad))


def transpose_axes(shapes: Shapes, args, stride, dilation, pairs) -> tuple[Axis, ...]:
    n = shapes.ndim
    out_pad = ints(args["output_padding"], n, "args.output_padding", minimum=0)
    axes = []
    if args["output_size"] is not None:
        if any(out_pad):
            raise InvalidArguments("args.output_size", "output_padding option is mutually exclusive with "
                                   "output_size (paddle refuses both)")
        size = ints(args["output_size"], n, "args.output_size", minimum=1)
        for i, k, s, d, (lo, hi), o in zip(shapes.in_size, shapes.kernel, stride, dilation, pairs, size):
            L = full_length(i, k, Axis(s, d, 0, 0))
            least = L - lo - hi
            if not least <= o < least + s:
                raise InvalidArguments("args.output_size", f"requested size {list(size)} is not between "
                                       f"{least} and {least + s - 1} along an axis")
            axes.append(Axis(s, d, lo, L - lo - o))
    else:
        if any(op >= s for op, s in zip(out_pad, stride)):
            raise InvalidArguments("args.output_padding", f"output_padding={list(out_pad)} must be smaller than "
                                   f"stride={list(stride)} (paddle's CPU kernels refuse output_padding >= stride "
                                   "even where it is smaller than the dilation)")
        axes = [Axis(s, d, lo, hi - op) for s, d, (lo, hi), op in zip(stride, dilation, pairs, out_pad)]
    sizes = [output_length("conv_transpose", i, k, a) for i, k, a in zip(shapes.in_size, shapes.kernel, axes)]
    check_positive(sizes, "the output size (i-1)*s - before - after + d*(k-1) + output_padding + 1",
                   "args.padding")
    return tuple(axes)


DIALECT = PaddleDialect()
