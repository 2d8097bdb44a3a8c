"""JAX: lax.conv_transpose and lax.conv_general_dilated, as cases spell them.

conv_transpose pads the *dilated input* of a forward convolution; with K = d*(k-1)+1:
- 'SAME' / 'VALID': as Keras 'same' / 'valid' with output_padding None;
- explicit [lo, hi] pairs: crop (K-1-lo, K-1-hi); with use_consistent_padding=True the pairs
  mean what a forward convolution's padding means, i.e. crop (lo, hi).
The kernel follows dimension_numbers (default N...C / ...IO / N...C, spatial order taken from the
kernel spec).  transpose_kernel=False (default): the kernel is used as a forward convolution would
use it: its O slot holds C_out, I slot C_in, spatially FLIPPED relative to torch.  With
transpose_kernel=True: O slot holds C_in, I slot C_out, unflipped.
conv (conv_general_dilated): window_strides, padding ('SAME', 'SAME_LOWER', 'VALID' in any letter case,
or pairs), rhs_dilation, feature_group_count; default dimension_numbers NC.../OI.../NC....
lax takes sequences: strides, window_strides and the dilations are lists of n ints, never one int (jax
raises TypeError).  conv_transpose hands any other padding word to conv_general_dilated, which takes it
as the forward padding of the flipped-kernel convolution when every stride is 1 (lowercase 'valid' then
crops K-1 at both ends) and refuses it otherwise.
"""

from __future__ import annotations

from convtx.harness.semantics.common import (ArgError, Dialect, FuzzDraw, Layout, Shapes, Spelling, check_groups,
                                             check_positive, flag, ints)
from convtx.harness.semantics.shared import (axis_numbers, draw_extents, draw_pads, if_dilated, keras_size_formula,
                                             keras_transpose_crop, padding_by_name, same_forward_pads, signed,
                                             word_or_pairs)
from convtx.harness.core.problem import Axis, Geometry, dilated_extent, output_length

_DEFAULT_TRANSPOSE = {1: ("NHC", "HIO", "NHC"), 2: ("NHWC", "HWIO", "NHWC"),
                      3: ("NHWDC", "HWDIO", "NHWDC")}


class JaxDialect(Dialect):
    fuzzable = True
    name = "jax"
    install_hint = "pip install '.[jax]'"
    ops = {
        "conv_transpose": {"strides": None, "padding": None, "rhs_dilation": None,
                           "dimension_numbers": None, "transpose_kernel": False,
                           "use_consistent_padding": False},
        "conv": {"window_strides": None, "padding": None, "lhs_dilation": None, "rhs_dilation": None,
                 "dimension_numbers": None, "feature_group_count": 1},
    }
    required = {"conv_transpose": ("strides", "padding"), "conv": ("window_strides", "padding")}
    flip_advice = "pass transpose_kernel=True (or flip the kernel)"
    flip_note = "jax's conv_transpose uses the kernel as a forward convolution does unless transpose_kernel=True"

    def layout(self, op, args, ndim):
        lhs, rhs, out = dimension_numbers(op, args, ndim)
        spatial = [c for c in rhs if c not in "OI"]

        def acts(spec):
            return tuple(c if c in "NC" else spatial.index(c) for c in spec)

        if op == "conv_transpose" and flag(args["transpose_kernel"], "args.transpose_kernel"):
            roles, flipped = {"O": "in", "I": "out"}, False
        elif op == "conv_transpose":
            roles, flipped = {"O": "out", "I": "in"}, True
        else:
            roles, flipped = {"O": "out", "I": "in"}, False
        weight = tuple(roles[c] if c in "OI" else spatial.index(c) for c in rhs)
        return Layout(acts(lhs), weight, acts(out), flipped)

    def axes(self, shapes: Shapes, args):
        n = shapes.ndim
        if shapes.op == "conv":
            return conv_axes(shapes, args), args["feature_group_count"]
        check_groups(shapes, 1, "weight")
        strides = sequence(args["strides"], n, "args.strides")
        dilation = (1,) * n if args["rhs_dilation"] is None else sequence(args["rhs_dilation"], n, "args.rhs_dilation")
        consistent = flag(args["use_consistent_padding"], "args.use_consistent_padding")
        padding = args["padding"]
        axes = []
        for a, (i, k, s, d) in enumerate(zip(shapes.in_size, shapes.kernel, strides, dilation)):
            axes.append(Axis(s, d, *transpose_crop(padding, n, a, (dilated_extent(k, d), strides), consistent)))
        sizes = [output_length("conv_transpose", i, k, ax)
                 for i, k, ax in zip(shapes.in_size, shapes.kernel, axes)]
        check_positive(sizes, "the output size", "args.padding")
        return tuple(axes), 1

    def size_formula(self, args, g: Geometry, axis: int) -> str | None:
        x = axis_numbers(g, axis)
        if args.get("padding") not in ("SAME", "VALID") and isinstance(args.get("padding"), str):
            return None  # a forward-padding word at stride 1: the canonical crop formula
        if isinstance(args.get("padding"), str):
            return keras_size_formula(args["padding"].lower(), None, x)
        lo, hi = args["padding"][axis]
        if args.get("use_consistent_padding"):
            return f"(i-1)*s + K - lo - hi = ({x.i}-1)*{x.s} + {x.K} - {signed(lo)} - {signed(hi)} = {x.out}"
        return (f"(i-1)*s - K + 2 + lo + hi = ({x.i}-1)*{x.s} - {x.K} + 2 + {signed(lo)} + {signed(hi)} = {x.out}"
                "  (pads the dilated input)")

    def spelling(self, args, ndim: int) -> Spelling:
        return word_or_pairs(args.get("padding", "SAME"), args.get("output_padding"), ndim)

    def naive_args(self, sp: Spelling, g: Geometry) -> dict:
        pad = padding_by_name(sp, lambda pairs: [list(p) for p in pairs], lambda numbers: [[p, p] for p in numbers])
        return {"strides": [a.stride for a in g.axes], "padding": pad, **if_dilated("rhs_dilation", g)}

    def fuzz_args(self, c: FuzzDraw) -> dict:
        """conv_transpose: mode 0 SAME, 1 VALID, 2 explicit pairs (flags bit 0: use_consistent_padding);
        flags bit 1: transpose_kernel.  conv: SAME or explicit pairs."""
        s, d = list(c.stride), list(c.dilation)
        lo, hi = draw_pads(c)
        if c.op == "conv":
            return {"window_strides": s, "rhs_dilation": d,
                    "padding": "SAME" if c.mode % 2 else [[a, b] for a, b in zip(lo, hi)]}
        mode = c.mode % 3
        args = {"strides": s, "rhs_dilation": d, "transpose_kernel": bool(c.flags & 2)}
        if mode < 2:
            return {**args, "padding": "SAME" if mode == 0 else "VALID"}
        consistent = bool(c.flags & 1)
        pairs = ([[a, b] for a, b in zip(lo, hi)] if consistent
                 else [[k - 1 - a, k - 1 - b] for k, a, b in zip(draw_extents(c), lo, hi)])
        return {**args, "padding": pairs, "use_consistent_padding": consistent}

    def candidates(self, g):
        """lax arguments that could mean geometry g (verified by `read` before use)."""
        if g.op == "conv":
            base = {"window_strides": [a.stride for a in g.axes]}
            if any(a.dilation != 1 for a in g.axes):
                base["rhs_dilation"] = [a.dilation for a in g.axes]
            if g.groups != 1:
                base["feature_group_count"] = g.groups
            for mode in ("VALID", "SAME", "SAME_LOWER"):
                yield {**base, "padding": mode}
            yield {**base, "padding": [[a.lo, a.hi] for a in g.axes]}
            return
        if g.groups != 1:
            return
        base = {"strides": [a.stride for a in g.axes]}
        if any(a.dilation != 1 for a in g.axes):
            base["rhs_dilation"] = [a.dilation for a in g.axes]
        for mode in ("SAME", "VALID"):
            yield {**base, "padding": mode}
        pairs = [[dilated_extent(k, a.dilation) - 1 - a.lo, dilated_extent(k, a.dilation) - 1 - a.hi]
                 for k, a in zip(g.kernel, g.axes)]
        yield {**base, "padding": pairs}

    def why_not(self, g) -> str:
        return (f"lax.conv_transpose has no feature_group_count (groups={g.groups}); "
                "lax.conv_general_dilated with lhs_dilation says it (see grouped_transpose_args)")


def dimension_numbers(op: str, args, ndim: int) -> tuple[str, str, str]:
    value = args.get("dimension_numbers")
    if value is None:
        if op == "conv_transpose":
            return _DEFAULT_TRANSPOSE[ndim]
        sp = "HWD"[:ndim] if ndim > 1 else "H"
        return ("NC" + sp, "OI" + sp, "NC" + sp)
    if (not isinstance(value, list) or len(value) != 3
            or not all(isinstance(s, str) and len(s) == ndim + 2 for s in value)):
        raise ArgError("args.dimension_numbers",
                       f"expected three layout strings of length {ndim + 2}, e.g. "
                       f"['NHWC', 'HWIO', 'NHWC'], got {value!r}")
    lhs, rhs, out = value
    spatial = set(rhs) - set("OI")
    for spec, pair in ((lhs, "NC"), (rhs, "OI"), (out, "NC")):
        if (len(set(spec)) != len(spec) or not all(spec.count(c) == 1 for c in pair)
                or set(spec) - set(pair) != spatial):
            raise ArgError("args.dimension_numbers", f"{spec!r} must hold {pair[0]!r} and {pair[1]!r} "
                           f"once each and the same spatial letters as {rhs!r}")
    return lhs, rhs, out


def sequence(value, n: int, field: str, minimum: int = 1) -> tuple[int, ...]:
    """lax takes a sequence of n integers here (a list or tuple), never one integer: jax raises TypeError
    ("object of type 'int' has no len()") for `strides=2`."""
    if not isinstance(value, (list, tuple)) or len(value) != n or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        example = [2] * n if field.endswith("strides") else [1] * n
        raise ArgError(field, f"expected a sequence of {n} integers, e.g. {example} (lax takes no single integer: "
                       f"jax raises TypeError for one), got {value!r}")
    return ints(list(value), n, field, minimum=minimum)


def explicit_pairs(padding, n: int) -> list[tuple[int, int]]:
    if (not isinstance(padding, (list, tuple)) or len(padding) != n or not all(
            isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(v, int) and not isinstance(v, bool)
                                                                 for v in p) for p in padding)):
        raise ArgError("args.padding", f"expected 'SAME', 'VALID' or {n} [lo, hi] pairs, got {padding!r}")
    return [(p[0], p[1]) for p in padding]


def transpose_crop(padding, n: int, a: int, ks: tuple[int, tuple[int, ...]], consistent: bool) -> tuple[int, int]:
    """Crop of axis a of lax.conv_transpose; ks = (K of the axis, all strides).  'SAME'/'VALID' mean Keras's
    crops; pairs pad the dilated input (crop K-1-p), or, with use_consistent_padding, crop (lo, hi).  Any
    other word is handed to conv_general_dilated, which takes it (any letter case, and 'SAME_LOWER') as a
    forward padding only when every stride is 1, and refuses it otherwise."""
    K, strides = ks
    s = strides[a]
    if padding in ("SAME", "VALID"):
        return keras_transpose_crop(padding.lower(), K, s, None)
    if isinstance(padding, str):
        word = padding.upper()
        if consistent or word not in ("SAME", "SAME_LOWER", "VALID") or any(v != 1 for v in strides):
            raise ArgError("args.padding", f"expected 'SAME', 'VALID' or {n} [lo, hi] pairs, got {padding!r} "
                           "(lax.conv_transpose takes another padding word only when every stride is 1 and "
                           "use_consistent_padding is false, as a forward convolution's padding)")
        lo, hi = (0, 0) if word == "VALID" else same_forward_pads(1, K, 1)
        lo, hi = (hi, lo) if word == "SAME_LOWER" else (lo, hi)
        return K - 1 - lo, K - 1 - hi
    lo, hi = explicit_pairs(padding, n)[a]
    return (lo, hi) if consistent else (K - 1 - lo, K - 1 - hi)


def conv_axes(shapes: Shapes, args) -> tuple[Axis, ...]:
    n = shapes.ndim
    groups = args["feature_group_count"]
    check_groups(shapes, groups, "args.feature_group_count")
    strides = sequence(args["window_strides"], n, "args.window_strides")
    dilation = (1,) * n if args["rhs_dilation"] is None else sequence(args["rhs_dilation"], n, "args.rhs_dilation")
    if args["lhs_dilation"] is not None and any(v != 1 for v in sequence(args["lhs_dilation"], n,
                                                                         "args.lhs_dilation")):
        raise ArgError("args.lhs_dilation", "lhs_dilation > 1 is a transposed convolution: write the "
                       "case with op: conv_transpose")
    padding = args["padding"]
    if isinstance(padding, str) and padding.upper() in ("SAME", "SAME_LOWER", "VALID"):
        padding = padding.upper()  # conv_general_dilated takes the words in any letter case
    axes = []
    for a, (i, k, s, d) in enumerate(zip(shapes.in_size, shapes.kernel, strides, dilation)):
        K = dilated_extent(k, d)
        if padding == "VALID":
            pads = (0, 0)
        elif padding in ("SAME", "SAME_LOWER"):
            lo, hi = same_forward_pads(i, K, s)
            pads = (lo, hi) if padding == "SAME" else (hi, lo)
        else:
            pads = explicit_pairs(padding, n)[a]
        axes.append(Axis(s, d, *pads))
    sizes = [output_length("conv", i, k, ax) for i, k, ax in zip(shapes.in_size, shapes.kernel, axes)]
    check_positive(sizes, "the output size", "args.padding")
    return tuple(axes)


DIALECT = JaxDialect()


def grouped_transpose_args(g) -> dict:
    """conv_general_dilated arguments for a grouped transposed convolution (NC.../OI.../NC...).

    The kernel must be the canonical W regrouped to (C_out, C_in/g, *k) and spatially flipped:
    see `grouped_transpose_weight`.
    """
    sp = "HWD"[:g.ndim]
    pads = [[dilated_extent(k, a.dilation) - 1 - a.lo, dilated_extent(k, a.dilation) - 1 - a.hi]
            for k, a in zip(g.kernel, g.axes)]
    return {"window_strides": [1] * g.ndim, "padding": pads, "lhs_dilation": [a.stride for a in g.axes],
            "rhs_dilation": [a.dilation for a in g.axes], "feature_group_count": g.groups,
            "dimension_numbers": ["NC" + sp, "OI" + sp, "NC" + sp]}


def grouped_transpose_weight(w, g):
    """Canonical W (C_in, C_out/g, *k) -> the OI... kernel conv_general_dilated needs (flipped)."""
    import numpy as np
    cin_g = g.in_channels // g.groups
    cout_g = g.out_channels // g.groups
    regrouped = w.reshape(g.groups, cin_g, cout_g, *g.kernel).swapaxes(1, 2)
    regrouped = regrouped.reshape(g.out_channels, cin_g, *g.kernel)
    return np.ascontiguousarray(np.flip(regrouped, axis=tuple(range(2, regrouped.ndim))))
