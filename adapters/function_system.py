"""A plain function in torch's meaning, as a convtx system: how a user tests their own implementation.

`FunctionSystem` owns the glue between the system contract and one function

    f(x, w, stride, padding, output_padding, dilation, groups) -> y

that computes a transposed convolution exactly as `torch.nn.functional.conv_transpose{1,2,3}d`
means it (NumPy arrays in torch's layouts: x (N, C_in, *s), w (C_in, C_out/groups, *k); the
per-axis numbers as tuples, `groups` an int; no bias: convtx adds it after the call).  Subclass it,
set `id` and `function`, and every case of the suite reaches the function: cases written for torch
literally (`output_size` is turned into the `output_padding` it means), every other framework's
cases translated into torch's terms, or `not_expressible` where torch cannot say them:

    class Mine(FunctionSystem):
        id = "mine"
        function = staticmethod(my_conv_transpose)

Then `convtx.run("cases/", ["numpy", Mine])`, `@pytest.mark.convtx("cases/", systems=[Mine])`,
or, installed under the `convtx.systems` entry point, `convtx run --frameworks numpy,mine`.  It runs
in a worker process like any framework (a crash or hang costs one verdict); declare
`capabilities = frozenset({"in_process"})` to run it in convtx's own process instead.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from convtx.adapters.contract import System, given, render_call
from convtx.harness.core.problem import Geometry

NUMPY_DTYPES: dict[str, Any] = {"float16": np.float16, "float32": np.float32, "float64": np.float64}
_MODULE_ARGS = ("in_channels", "out_channels", "kernel_size")


def torch_arguments(g: Geometry) -> dict[str, Any]:
    """The geometry's numbers as torch's arguments (crop (lo, hi) = (padding, padding - output_padding))."""
    return {"stride": tuple(a.stride for a in g.axes), "padding": tuple(a.lo for a in g.axes),
            "output_padding": tuple(a.lo - a.hi for a in g.axes),
            "dilation": tuple(a.dilation for a in g.axes), "groups": g.groups}


class FunctionSystem(System):
    """A system whose calls go to `function(x, w, stride, padding, output_padding, dilation, groups)`."""

    dialect = "torch"
    install_hint = "(a function of your own: see convtx.adapters.function_system)"
    function_version: ClassVar[str] = "0"  # what `version()` reports; set it to your implementation's

    def function(self, x: np.ndarray, w: np.ndarray, stride: tuple[int, ...], padding: tuple[int, ...],
                 output_padding: tuple[int, ...], dilation: tuple[int, ...], groups: int) -> np.ndarray:
        """The transposed convolution itself: set `function = staticmethod(f)` in a subclass."""
        raise NotImplementedError(f"{type(self).__name__}: set `function = staticmethod(f)`")

    def function_name(self) -> str:
        f = getattr(type(self), "function")
        f = getattr(f, "__func__", f)
        return f"{getattr(f, '__module__', '?')}.{getattr(f, '__qualname__', 'function')}"

    def version(self) -> str:
        return self.function_version

    def environment(self, device: str = "cpu") -> dict[str, Any]:
        return {"device": "cpu", "function": self.function_name(), "numpy": np.__version__}

    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str:
        call = render_call(self.function_name().rpartition(".")[2], ["x", "w"], given(args, _MODULE_ARGS))
        return f"{call} + b" if has_bias else call

    def api_limit(self, op: str, geometry: Any, dtype: str, args: Mapping[str, Any]) -> str | None:
        if op != "conv_transpose":
            return f"{self.id} is a transposed convolution only (no forward {op})"
        if dtype not in NUMPY_DTYPES:
            return f"{self.id} takes NumPy arrays, and NumPy has no {dtype}"
        return None

    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray:
        from convtx.harness import semantics
        reading = semantics.read("torch", op, args, x.shape, w.shape, b is not None,
                                 None if b is None else b.shape)  # torch's refusals, as torch refuses them
        kind = NUMPY_DTYPES[dtype]
        out = np.asarray(self.function(x.astype(kind), w.astype(kind), **torch_arguments(reading.geometry)))
        if b is not None:
            out = out + b.astype(out.dtype).reshape(1, -1, *([1] * reading.geometry.ndim))
        return out
