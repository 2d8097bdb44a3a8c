"""TensorFlow: tf.nn.conv{1,2,3}d_transpose and tf.nn.conv2d / tf.nn.convolution, as cases spell them.

conv_transpose needs `output_shape` (the full shape, in data_format order) because up to `stride`
output sizes map back to one input size; with O the requested spatial size and L the full length:
'VALID' crop (0, L-O); 'SAME' crop (floor(max(L-O,0)/2), L-O-lo); explicit pads (pb, pa) crop
(pb, L-pb-O).  TF refuses an output_shape whose forward convolution does not give the input back.
conv: 'VALID', 'SAME' (extra pad at the end) or explicit pairs; only 2-D (tf.nn.conv2d) takes explicit
padding, and strides > 1 together with dilations > 1.  Explicit padding exists only in 2-D.  Filters:
transpose (*k, C_out, C_in), conv (*k, C_in/g, C_out); data_format N...C (default) or NC....
The forms TF takes, no more: strides/dilations one int or 1, n or n+2 values; explicit padding n+2
[before, after] pairs; output_shape n+2 values (the n spatial ones alone only in 2-D).
"""

from __future__ import annotations

from convtx.harness.semantics.common import (ArgError, Dialect, FuzzDraw, InvalidArguments, Layout, Shapes,
                                             Spelling, channels_first, channels_last, check_groups, check_positive,
                                             ints)
from convtx.harness.semantics.shared import (axis_numbers, draw_full_lengths, draw_pads, if_dilated,
                                             padding_by_name, refuse_strided_dilation, same_forward_pads,
                                             word_or_pairs)
from convtx.harness.core.problem import Axis, Geometry, dilated_extent, full_length, output_length

_FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}


class TfDialect(Dialect):
    fuzzable = True
    name = "tf"
    install_hint = "pip install '.[tf]'"
    ops = {
        "conv_transpose": {"output_shape": None, "strides": None, "padding": "SAME",
                           "data_format": None, "dilations": 1},
        "conv": {"strides": None, "padding": None, "data_format": None, "dilations": 1},
    }
    required = {"conv_transpose": ("output_shape", "strides"), "conv": ("strides", "padding")}

    def layout(self, op, args, ndim):
        acts = channels_first(ndim) if _is_nchw(args, ndim) else channels_last(ndim)
        weight = (*range(ndim), "out", "in") if op == "conv_transpose" else (*range(ndim), "in", "out")
        return Layout(acts, weight, acts)

    def axes(self, shapes: Shapes, args):
        n = shapes.ndim
        nchw = _is_nchw(args, n)
        strides = _spatial(args["strides"], n, "args.strides", nchw)
        dilation = _spatial(args["dilations"], n, "args.dilations", nchw)
        groups = 1
        if shapes.op == "conv":
            groups = shapes.input[1] // shapes.weight[1] if shapes.weight[1] else 0
            check_groups(shapes, max(groups, 1), "weight")
            return conv_axes(shapes, args, strides, dilation), groups
        check_groups(shapes, 1, "weight")
        return transpose_axes(shapes, args, strides, dilation, nchw), groups

    def size_formula(self, args, g: Geometry, axis: int) -> str:
        x = axis_numbers(g, axis)
        return f"output_shape[{axis}] = {x.out}  (legal: one of the {x.s} sizes whose forward convolution gives {x.i})"

    def spelling(self, args, ndim: int) -> Spelling:
        return word_or_pairs(args.get("padding", "SAME"), args.get("output_padding"), ndim)

    def naive_args(self, sp: Spelling, g: Geometry) -> dict:
        pad = padding_by_name(sp, lambda pairs: [[0, 0]] + [list(p) for p in pairs] + [[0, 0]],
                              lambda numbers: "SAME" if any(numbers) else "VALID")
        return {"output_shape": [g.batch, *g.out_size, g.out_channels], "strides": [a.stride for a in g.axes],
                "padding": pad, **if_dilated("dilations", g)}

    def fuzz_args(self, c: FuzzDraw) -> dict:
        """conv_transpose: mode 0 VALID, 1 SAME (output_shape: one of the stride legal sizes), 2 explicit
        pairs; conv: SAME or explicit pairs."""
        s, d = list(c.stride), list(c.dilation)
        lo, hi = draw_pads(c)
        explicit = [[0, 0]] + [[a, b] for a, b in zip(lo, hi)] + [[0, 0]]
        if c.op == "conv":
            return {"strides": s, "dilations": d, "padding": "SAME" if c.mode % 2 else explicit}
        mode, L = c.mode % 3, draw_full_lengths(c)
        padding: str | list[list[int]]
        if mode == 2:
            out = [max(Li - a - b, 1) for Li, a, b in zip(L, lo, hi)]
            padding = explicit
        else:
            lows = [Li if mode == 0 else (i - 1) * ss + 1 for Li, i, ss in zip(L, c.size, s)]
            out = [base + h % ss for base, h, ss in zip(lows, hi, s)]
            padding = "VALID" if mode == 0 else "SAME"
        return {"output_shape": [c.batch, *out, c.groups * c.cout_g], "strides": s, "dilations": d,
                "padding": padding}

    def candidates(self, g):
        """tf.nn arguments that could mean geometry g (verified by `read` before use)."""
        base = {"strides": [a.stride for a in g.axes]}
        if any(a.dilation != 1 for a in g.axes):
            base["dilations"] = [a.dilation for a in g.axes]
        if g.op == "conv":
            for mode in ("VALID", "SAME"):
                yield {**base, "padding": mode}
            if g.ndim == 2 and all(a.lo >= 0 and a.hi >= 0 for a in g.axes):
                yield {**base, "padding": [[0, 0]] + [[a.lo, a.hi] for a in g.axes] + [[0, 0]]}
            return
        if g.groups != 1:
            return
        shape = [g.batch, *g.out_size, g.out_channels]
        for mode in ("VALID", "SAME"):
            yield {"output_shape": shape, **base, "padding": mode}
        if g.ndim == 2 and all(a.lo >= 0 for a in g.axes):
            pads = [[0, 0]] + [[a.lo, max(a.hi, 0)] for a in g.axes] + [[0, 0]]
            yield {"output_shape": shape, **base, "padding": pads}

    def why_not(self, g) -> str:
        if g.op == "conv" and g.ndim != 2 and any(a.stride > 1 for a in g.axes) and any(a.dilation > 1 for a in g.axes):
            return "tf.nn.convolution refuses strides > 1 together with dilations > 1 (only tf.nn.conv2d takes both)"
        if g.op == "conv" and g.ndim != 2:
            return (f"tf.nn.convolution takes only 'SAME' or 'VALID' (explicit padding exists only in 2-D); "
                    f"this needs pads {list(g.crops)}")
        if g.op == "conv":
            return f"tf.nn.conv2d cannot crop the input (negative pads); this needs pads {list(g.crops)}"
        if g.groups != 1:
            return (f"tf.nn.conv*_transpose has no groups (this call has groups={g.groups}); "
                    "see tensorflow/tensorflow#45216")
        if g.ndim != 2:
            return (f"crop {list(g.crops)} is neither 'SAME' nor 'VALID' with some output_shape, and tf.nn takes "
                    f"explicit padding only in 2-D")
        return (f"crop {list(g.crops)} needs zeros at the start or more than stride-1 zeros at the end; "
                "tf.nn explicit padding crops (pb, L - pb - O) with pb >= 0 and output_shape O at most L + stride - 1")


def _is_nchw(args, n: int) -> bool:
    fmt = args.get("data_format")
    if fmt is None:
        return False
    if fmt not in _FORMATS[n]:
        raise ArgError("args.data_format", f"expected {' or '.join(_FORMATS[n])} for {n}-D, got {fmt!r}")
    return fmt == _FORMATS[n][1]


def _spatial(value, n: int, field: str, nchw: bool) -> tuple[int, ...]:
    """TF accepts an int, one value (for every axis), n spatial values, or n+2 values with 1 at the batch
    and channel slots."""
    vals = ints(value, n, field, minimum=1, allow_len=(1, n + 2) if n > 1 else (n + 2,))
    if len(vals) == 1:
        return vals * n
    if len(vals) == n + 2:
        outer = (vals[0], vals[1]) if nchw else (vals[0], vals[-1])
        if outer != (1, 1):
            raise ArgError(field, f"the batch and channel entries must be 1, got {list(vals)}")
        vals = vals[2:] if nchw else vals[1:-1]
    return vals


def _explicit_pairs(padding, n: int, nchw: bool, field: str) -> list[tuple[int, int]]:
    if n != 2 and isinstance(padding, (list, tuple)):
        raise InvalidArguments(field, f"tf.nn takes explicit padding only for 2-D convolutions; {n}-D takes "
                               "'SAME' or 'VALID'")
    if not isinstance(padding, (list, tuple)) or len(padding) != n + 2 or not all(
            isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(v, int) and not isinstance(v, bool)
                                                                 for v in p) for p in padding):
        raise ArgError(field, f"expected 'SAME', 'VALID' or {n + 2} [before, after] pairs, the batch and channel "
                       f"pairs included (tf.nn refuses a list of another size), got {padding!r}")
    pairs = [(p[0], p[1]) for p in padding]
    outer = (pairs[0], pairs[1]) if nchw else (pairs[0], pairs[-1])
    if any(p != (0, 0) for p in outer):
        raise ArgError(field, "the batch and channel pairs must be [0, 0]")
    pairs = pairs[2:] if nchw else pairs[1:-1]
    if any(v < 0 for p in pairs for v in p):
        raise ArgError(field, f"explicit padding must be >= 0, got {padding!r}")
    return pairs


def transpose_axes(shapes: Shapes, args, strides, dilation, nchw: bool) -> tuple[Axis, ...]:
    n = shapes.ndim
    shape = args["output_shape"]
    if not isinstance(shape, (list, tuple)):
        raise ArgError("args.output_shape", f"expected the full output shape, a list of {n + 2} integers, "
                       f"got {shape!r}")
    # the spatial sizes alone only in 2-D (Conv2DBackpropInput takes 2 or 4 sizes; 1-D and 3-D need them all)
    shape = ints(list(shape), n + 2, "args.output_shape", minimum=1, allow_len=(n,) if n == 2 else ())
    out_size = shape[-n:] if len(shape) == n else (shape[2:] if nchw else shape[1:-1])
    if len(shape) == n + 2:
        c_out = shape[1] if nchw else shape[-1]
        if shape[0] != shapes.input[0] or c_out != shapes.weight[1]:
            raise ArgError("args.output_shape", f"batch/channels {shape[0]}/{c_out} do not match the "
                           f"input batch {shapes.input[0]} and the filters' {shapes.weight[1]} outputs")
    padding = args["padding"]
    pairs = None if padding in ("SAME", "VALID") else _explicit_pairs(padding, n, nchw, "args.padding")
    axes = []
    for a, (i, k, s, d, o) in enumerate(zip(shapes.in_size, shapes.kernel, strides, dilation, out_size)):
        L = full_length(i, k, Axis(s, d, 0, 0))
        K = dilated_extent(k, d)
        if pairs is not None:
            fwd_pads = pairs[a]
        elif padding == "VALID":
            fwd_pads = (0, 0)
        else:
            fwd_pads = same_forward_pads(o, K, s)
        back = output_length("conv", o, k, Axis(s, d, *fwd_pads))
        if back != i:
            raise InvalidArguments("args.output_shape", f"output size {o} along spatial axis {a} "
                                   f"does not map back to input size {i} with padding={padding!r}, "
                                   f"stride {s} (it gives {back})")
        if pairs is not None:
            lo = pairs[a][0]
        else:
            lo = 0 if padding == "VALID" else max(L - o, 0) // 2
        axes.append(Axis(s, d, lo, L - lo - o))
    return tuple(axes)


def conv_axes(shapes: Shapes, args, strides, dilation) -> tuple[Axis, ...]:
    n = shapes.ndim
    if n != 2:  # tf.nn.convolution refuses it; tf.nn.conv2d takes it
        refuse_strided_dilation(strides, dilation, "args.dilations")
    padding = args["padding"]
    nchw = _is_nchw(args, n)
    pairs = None if padding in ("SAME", "VALID") else _explicit_pairs(padding, n, nchw, "args.padding")
    axes = []
    for a, (i, k, s, d) in enumerate(zip(shapes.in_size, shapes.kernel, strides, dilation)):
        if pairs is not None:
            pads = pairs[a]
        else:
            pads = (0, 0) if padding == "VALID" else same_forward_pads(i, dilated_extent(k, d), s)
        axes.append(Axis(s, d, *pads))
    sizes = [output_length("conv", i, k, a) for i, k, a in zip(shapes.in_size, shapes.kernel, axes)]
    check_positive(sizes, "the output size", "args.padding")
    return tuple(axes)


DIALECT = TfDialect()
