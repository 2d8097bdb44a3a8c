"""JAX adapter: lax.conv_transpose, and lax.conv_general_dilated for convolutions.

Speaks the jax dialect: explicit padding pairs become tuples (lax wants tuples; YAML gives
lists); by default the kernel is the forward-convolution kernel (torch's W, spatially flipped,
O = C_out, I = C_in) unless transpose_kernel=True.  A grouped transposed convolution, which
conv_transpose cannot say, runs as conv_general_dilated with lhs_dilation=stride and
feature_group_count (see `fallback`).  float64 needs jax_enable_x64, set in the worker.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from convtx.adapters.contract import SaidAsIs, System, Variant, given, module_available, render_call

# XLA's words for "no kernel for this call on this device" (the verdict is `unsupported`)
REFUSALS: tuple[str, ...] = (r"UNIMPLEMENTED", r"^XlaRuntimeError: UNIMPLEMENTED")


def _tuples(value):
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _kwargs(op: str, args: Mapping[str, Any]) -> dict:
    kwargs = given(args)
    if op == "conv_transpose":
        kwargs = {k: v for k, v in kwargs.items() if not (k in ("transpose_kernel", "use_consistent_padding") and v is False)}
    elif kwargs.get("feature_group_count") == 1:
        kwargs.pop("feature_group_count")
    return kwargs


_COMPILED: dict = {}  # one jitted function per call signature; jax caches its compilations per shape


def _function(op: str, kwargs: Mapping[str, Any], bias_axis: int | None):
    import jax
    from jax import lax

    key = (op, repr(sorted(kwargs.items())), bias_axis)
    if key not in _COMPILED:
        fn = lax.conv_transpose if op == "conv_transpose" else lax.conv_general_dilated

        def conv(x, w, b):
            out = fn(x, w, **kwargs)
            if bias_axis is None:
                return out
            shape = [1] * out.ndim
            shape[bias_axis] = -1
            return out + b.reshape(shape)

        _COMPILED[key] = jax.jit(conv)
    return _COMPILED[key]


class GroupedTranspose(SaidAsIs):
    """A grouped transposed convolution said with lax.conv_general_dilated (NC.../OI.../NC...)."""

    def __init__(self, geometry):
        from convtx.harness.semantics.jax import grouped_transpose_args
        super().__init__("conv", grouped_transpose_args(geometry))
        self.geometry = geometry

    def from_canonical_weight(self, w):
        from convtx.harness.semantics.jax import grouped_transpose_weight
        return grouped_transpose_weight(w, self.geometry)

    def weight_conversion(self) -> str:
        g = self.geometry
        return (f"w.reshape({g.groups}, {g.in_channels // g.groups}, {g.out_channels // g.groups}, *k)"
                f".swapaxes(1, 2).reshape({g.out_channels}, {g.in_channels // g.groups}, *k), spatially flipped")


def grouped_fallback(geometry):
    """conv_transpose has no groups: conv_general_dilated with lhs_dilation says it (jax and flax)."""
    if geometry.op == "conv_transpose" and geometry.groups > 1:
        return GroupedTranspose(geometry)
    return None


class JaxSystem(System):
    """JAX adapter: lax.conv_transpose, and lax.conv_general_dilated for convolutions."""

    id = "jax"
    dialect = "jax"
    install_hint = "pip install '.[jax]'"
    requires = ("jax", "jaxlib")
    env = {"JAX_ENABLE_X64": "1"}
    cache_env = {"JAX_COMPILATION_CACHE_DIR": "{cache}/jax", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                 "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}  # every compiled shape, however small
    refusals = REFUSALS
    capabilities = frozenset({"fallback", "gradient"})
    variants = {"cuda": Variant("on the first GPU (XLA's CUDA backend)", device="cuda")}

    def version(self) -> str:
        import jax
        return jax.__version__

    def unavailable(self, device: str) -> str | None:
        import jax
        try:
            jax.devices("gpu" if device == "cuda" else "cpu")
        except RuntimeError as err:
            return f"no {device} device for jax here ({err})"
        return None

    def environment(self, device: str = "cpu") -> dict:
        import jax
        return {"device": device, "backend": jax.default_backend(), "x64": bool(jax.config.jax_enable_x64),
                "default_matmul_precision": str(jax.config.jax_default_matmul_precision)}

    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str:
        fn = "lax.conv_transpose" if op == "conv_transpose" else "lax.conv_general_dilated"
        text = render_call(fn, ["x", "w"], {k: _tuples(v) for k, v in _kwargs(op, args).items()})
        return f"{text} + b (broadcast over the channel axis)" if has_bias else text

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        import jax
        import jax.numpy as jnp

        kwargs = {k: _tuples(v) for k, v in _kwargs(op, args).items()}
        bias_axis = None
        if b is not None:
            from convtx.harness.semantics.jax import dimension_numbers
            bias_axis = dimension_numbers(op, args, x.ndim - 2)[2].index("C")
        target = jax.devices("gpu" if device == "cuda" else "cpu")[0]
        put = lambda a: jax.device_put(jnp.asarray(a, dtype=dtype), target)  # noqa: E731
        out = _function(op, kwargs, bias_axis)(put(x), put(w), put(b if b is not None else np.zeros(1)))
        return np.asarray(out).astype(np.float64)

    def fallback(self, geometry):
        return grouped_fallback(geometry)

    def input_gradient(self, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, cotangent: np.ndarray, dtype: str,
                       device: str = "cpu") -> np.ndarray:
        """d<conv(x, w), cotangent>/dx by jax.vjp (args: lax.conv_general_dilated's)."""
        import jax
        import jax.numpy as jnp
        from jax import lax

        kwargs = {k: _tuples(v) for k, v in _kwargs("conv", args).items()}
        wt = jnp.asarray(w, dtype=dtype)
        _, vjp = jax.vjp(lambda xx: lax.conv_general_dilated(xx, wt, **kwargs), jnp.asarray(x, dtype=dtype))
        return np.asarray(vjp(jnp.asarray(cotangent, dtype=dtype))[0]).astype(np.float64)
