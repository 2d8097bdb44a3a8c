"""Output-size formulas, as each framework's documentation writes them, with the numbers filled in.

`formula(framework, reading)` gives e.g. `(i-1)*s - 2*p + d*(k-1) + op + 1 = (3-1)*2 - 2*1 + 1*(3-1) + 1 + 1 = 6`
for each spatial axis: the same output length, reached through each framework's own arguments.
"""

from __future__ import annotations

from convtx.harness.core.problem import dilated_extent, full_length


def _n(v: int) -> str:
    """A number as it reads after a minus sign: 3, or (-1)."""
    return f"({v})" if v < 0 else str(v)


def _axis_values(value, n: int, default=0) -> list:
    if value is None:
        return [default] * n
    if isinstance(value, (int, str)):
        return [value] * n
    return list(value)


def _transpose(framework: str, args: dict, g, a: int) -> str:
    ax, i, k = g.axes[a], g.in_size[a], g.kernel[a]
    s, d = ax.stride, ax.dilation
    K = dilated_extent(k, d)
    out = g.out_size[a]
    n = g.ndim
    if framework == "torch":
        p = _axis_values(args.get("padding", 0), n)[a]
        op = p - ax.hi
        return f"(i-1)*s - 2*p + d*(k-1) + op + 1 = ({i}-1)*{s} - 2*{p} + {d}*({k}-1) + {op} + 1 = {out}"
    if framework in ("keras", "jax") and isinstance(args.get("padding"), str):
        mode = args["padding"].lower()
        op = args.get("output_padding") if framework == "keras" else None
        op = None if op is None else _axis_values(op, n)[a]
        if mode == "valid" and op is None:
            return f"i*s + max(K-s, 0) = {i}*{s} + max({K}-{s}, 0) = {out}  (K = d*(k-1)+1 = {K})"
        if mode == "valid":
            return f"(i-1)*s + K + op = ({i}-1)*{s} + {K} + {op} = {out}  (K = {K})"
        if op is None:
            return f"i*s = {i}*{s} = {out}"
        return f"(i-1)*s + K - 2*(K//2) + op = ({i}-1)*{s} + {K} - 2*{K // 2} + {op} = {out}  (K = {K})"
    if framework == "jax":
        lo, hi = args["padding"][a]
        if args.get("use_consistent_padding"):
            return f"(i-1)*s + K - lo - hi = ({i}-1)*{s} + {K} - {_n(lo)} - {_n(hi)} = {out}"
        return (f"(i-1)*s - K + 2 + lo + hi = ({i}-1)*{s} - {K} + 2 + {_n(lo)} + {_n(hi)} = {out}"
                "  (pads the dilated input)")
    if framework == "tf":
        return f"output_shape[{a}] = {out}  (legal: one of the {s} sizes whose forward convolution gives {i})"
    if framework == "onnx":
        if args.get("output_shape") is not None:
            return f"output_shape[{a}] = {out}"
        if args.get("auto_pad") in ("SAME_UPPER", "SAME_LOWER"):
            return f"i*s = {i}*{s} = {out}"
        pads = _axis_values(args.get("pads", 0), 2 * n)
        op = _axis_values(args.get("output_padding", 0), n)[a]
        return (f"s*(i-1) + op + K - pad_begin - pad_end = {s}*({i}-1) + {op} + {K} - {pads[a]} - {pads[a + n]}"
                f" = {out}")
    L = full_length(i, k, ax)
    return f"L - lo - hi = {L} - {_n(ax.lo)} - {_n(ax.hi)} = {out}"


def formula(framework: str, args: dict, g, axis: int) -> str:
    """The framework's output-size formula for one axis, numbers substituted."""
    try:
        if g.op == "conv_transpose":
            return _transpose(framework, args, g, axis)
    except (KeyError, IndexError, TypeError, ValueError):
        pass
    ax, i, k = g.axes[axis], g.in_size[axis], g.kernel[axis]
    if g.op == "conv":
        K = dilated_extent(k, ax.dilation)
        return (f"floor((i + lo + hi - K)/s) + 1 = floor(({i} + {_n(ax.lo)} + {_n(ax.hi)} - {K})/{ax.stride}) + 1"
                f" = {g.out_size[axis]}")
    L = full_length(i, k, ax)
    return f"L - lo - hi = {L} - {_n(ax.lo)} - {_n(ax.hi)} = {g.out_size[axis]}"


def canonical(g, axis: int) -> str:
    """The crop model's own formula for one axis."""
    ax, i, k = g.axes[axis], g.in_size[axis], g.kernel[axis]
    if g.op == "conv":
        return formula("canonical", {}, g, axis)
    L = full_length(i, k, ax)
    return (f"L = (i-1)*s + d*(k-1) + 1 = ({i}-1)*{ax.stride} + {ax.dilation}*({k}-1) + 1 = {L}; "
            f"O = L - lo - hi = {L} - {_n(ax.lo)} - {_n(ax.hi)} = {g.out_size[axis]}")
