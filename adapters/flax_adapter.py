"""Flax adapter: flax.linen.ConvTranspose / flax.linen.Conv with their parameters set by apply().

Speaks the jax dialect (`lax.conv_transpose` / `lax.conv_general_dilated` arguments), mapped to the
modules' fields:
- conv_transpose -> nn.ConvTranspose(features=C_out, kernel_size=k, strides=strides,
  padding=padding ('SAME', 'VALID' or (lo, hi) pairs, which keep lax.conv_transpose's meaning: they
  pad the dilated input), kernel_dilation=rhs_dilation, transpose_kernel=transpose_kernel,
  use_bias=has bias).  The module calls lax.conv_transpose with its default dimension numbers
  (N...C / ...IO / N...C), so other `dimension_numbers` are a pure transposition of the tensors,
  done here; `use_consistent_padding=True` has no field (`api_limit`).
- conv -> nn.Conv(features=C_out, kernel_size=k, strides=window_strides, padding=padding,
  input_dilation=lhs_dilation, kernel_dilation=rhs_dilation, feature_group_count=...).  nn.Conv
  works channels-last (N...C input, ...IO kernel): lax's default NC.../OI.../NC... and any other
  `dimension_numbers` are transposed in and out here.
- A grouped transposed convolution (ConvTranspose has no groups) runs as nn.Conv with
  input_dilation=stride and feature_group_count, as the jax adapter does with lax (`fallback`).
Parameters: module.apply({'params': {'kernel': w, 'bias': b}}, x).  float64 needs JAX_ENABLE_X64.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from convtx.adapters.jax_adapter import REFUSALS as XLA_REFUSALS, grouped_fallback
from convtx.adapters.contract import System, module_available, render_call



def _tuples(value):
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _layouts(op: str, args: Mapping[str, Any], ndim: int):
    """(lhs, rhs, out) specs, the spatial letters in the kernel's order, and flax's own specs."""
    from convtx.harness.semantics.jax import dimension_numbers
    lhs, rhs, out = dimension_numbers(op, args, ndim)
    spatial = [c for c in rhs if c not in "OI"]
    acts = ("N", *spatial, "C")
    return lhs, rhs, out, acts, (*spatial, "I", "O")


def module_fields(op: str, args: Mapping[str, Any], w_shape_flax, has_bias: bool) -> dict:
    """The flax module's fields for jax-dialect `args` (kernel already in flax's ...IO layout)."""
    ndim = len(w_shape_flax) - 2
    i_slot, o_slot = w_shape_flax[-2], w_shape_flax[-1]
    if op == "conv_transpose":
        transpose_kernel = bool(args.get("transpose_kernel"))
        fields = {"features": i_slot if transpose_kernel else o_slot, "kernel_size": tuple(w_shape_flax[:ndim]),
                  "strides": _tuples(args["strides"]), "padding": _tuples(args["padding"])}
        if args.get("rhs_dilation") is not None:
            fields["kernel_dilation"] = _tuples(args["rhs_dilation"])
        if transpose_kernel:
            fields["transpose_kernel"] = True
    else:
        fields = {"features": o_slot, "kernel_size": tuple(w_shape_flax[:ndim]),
                  "strides": _tuples(args["window_strides"]), "padding": _tuples(args["padding"])}
        for src, dst in (("lhs_dilation", "input_dilation"), ("rhs_dilation", "kernel_dilation")):
            if args.get(src) is not None:
                fields[dst] = _tuples(args[src])
        if (args.get("feature_group_count") or 1) != 1:
            fields["feature_group_count"] = args["feature_group_count"]
    fields["use_bias"] = has_bias
    return fields


def _class(op: str) -> str:
    return "ConvTranspose" if op == "conv_transpose" else "Conv"


def _flax_shape(shape, src, dst) -> tuple[int, ...]:
    return tuple(shape[src.index(c)] for c in dst)


_COMPILED: dict = {}


def _function(op: str, fields: dict):
    import flax.linen as nn
    import jax

    key = (op, repr(sorted(fields.items())))
    if key not in _COMPILED:
        module = getattr(nn, _class(op))(**fields)
        _COMPILED[key] = jax.jit(lambda params, x: module.apply({"params": params}, x))
    return _COMPILED[key]


class FlaxSystem(System):
    """Flax adapter: flax.linen.ConvTranspose / flax.linen.Conv with their parameters set by apply()."""

    id = "flax"
    dialect = "jax"
    install_hint = "pip install '.[flax]'"
    requires = ("flax", "jax", "jaxlib")
    env = {"JAX_ENABLE_X64": "1"}
    cache_env = {"JAX_COMPILATION_CACHE_DIR": "{cache}/jax", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                 "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}  # every compiled shape, however small
    refusals = XLA_REFUSALS  # flax runs lax: XLA's words
    capabilities = frozenset({"fallback", "gradient"})

    def version(self) -> str:
        import flax
        import jax
        return f"{flax.__version__} (jax {jax.__version__})"

    def environment(self, device: str = "cpu") -> dict:
        import flax
        import jax
        return {"device": device, "backend": jax.default_backend(), "x64": bool(jax.config.jax_enable_x64),
                "flax": flax.__version__, "jax": jax.__version__}

    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str:
        ndim = len(x_shape) - 2
        lhs, rhs, out, acts, kernel = _layouts(op, args, ndim)
        fields = module_fields(op, args, _flax_shape(w_shape, rhs, kernel), has_bias)
        params = "{'kernel': w, 'bias': b}" if has_bias else "{'kernel': w}"
        text = f"{render_call(f'nn.{_class(op)}', [], fields)}.apply({{'params': {params}}}, x)"
        moves = []
        if tuple(lhs) != acts:
            moves.append(f"x: {lhs} -> {''.join(acts)}")
        if tuple(rhs) != kernel:
            moves.append(f"w: {rhs} -> {''.join(kernel)}")
        if tuple(out) != acts:
            moves.append(f"output: {''.join(acts)} -> {out}")
        return f"{text}  # transposed: {'; '.join(moves)}" if moves else text

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        import jax
        import jax.numpy as jnp

        ndim = x.ndim - 2
        lhs, rhs, out, acts, kernel = _layouts(op, args, ndim)
        xf = np.transpose(x, [lhs.index(c) for c in acts])
        wf = np.transpose(w, [rhs.index(c) for c in kernel])
        fields = module_fields(op, args, wf.shape, b is not None)
        target = jax.devices("gpu" if device == "cuda" else "cpu")[0]
        put = lambda a: jax.device_put(jnp.asarray(a, dtype=dtype), target)  # noqa: E731
        params = {"kernel": put(wf)}
        if b is not None:
            params["bias"] = put(b)
        y = np.asarray(_function(op, fields)(params, put(xf))).astype(np.float64)
        return np.transpose(y, [acts.index(c) for c in out])

    def input_gradient(self, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, cotangent: np.ndarray, dtype: str,
                       device: str = "cpu") -> np.ndarray:
        """d<conv(x, w), cotangent>/dx by jax.vjp through nn.Conv (args: lax.conv_general_dilated's)."""
        import flax.linen as nn
        import jax
        import jax.numpy as jnp

        lhs, rhs, out, acts, kernel = _layouts("conv", args, x.ndim - 2)
        xf = jnp.asarray(np.transpose(x, [lhs.index(c) for c in acts]), dtype=dtype)
        wf = jnp.asarray(np.transpose(w, [rhs.index(c) for c in kernel]), dtype=dtype)
        module = nn.Conv(**module_fields("conv", args, wf.shape, False))
        _, vjp = jax.vjp(lambda xx: module.apply({"params": {"kernel": wf}}, xx), xf)
        cot = jnp.asarray(np.transpose(cotangent, [out.index(c) for c in acts]), dtype=dtype)
        grad = np.asarray(vjp(cot)[0]).astype(np.float64)
        return np.transpose(grad, [acts.index(c) for c in lhs])

    def api_limit(self, op: str, geometry: Any, dtype: str, args: Mapping[str, Any]) -> str | None:
        """What flax's modules cannot say (a limit, not a wrong answer)."""
        if op == "conv_transpose" and args.get("use_consistent_padding"):
            return ("flax.linen.ConvTranspose has no use_consistent_padding: it calls lax.conv_transpose without it, "
                    "so explicit pairs keep the legacy meaning (pads of the dilated input); the same crop is "
                    "padding=[(K-1-lo, K-1-hi), ...] with K = d*(k-1)+1")
        return None

    def fallback(self, geometry):
        """ConvTranspose has no groups: nn.Conv with input_dilation and feature_group_count says it."""
        return grouped_fallback(geometry)
