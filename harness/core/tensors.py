"""Tensor specifications of the case format, and dtype rounding.

A tensor in a case is a nested list, or a mapping with `shape` and one of `values` (nested or
flat), `fill`, `arange` (start; step 1, row-major) or `random` (an integer seed: values drawn
uniformly from [-1, 1) by `numpy.random.default_rng(seed).uniform`, then rounded to the case dtype).
`TensorSpec` keeps the description; `materialize(dtype)` gives float64 values that are exactly
representable in the case dtype, which is what every adapter and the reference consume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DTYPES = ("float16", "bfloat16", "float32", "float64")
MAX_ELEMENTS = 1 << 24  # 16,777,216 elements per tensor


@dataclass(frozen=True)
class TensorSpec:
    """How a case describes one tensor (`kind` is values|fill|arange|random)."""

    shape: tuple[int, ...]
    kind: str
    values: np.ndarray | None = None  # float64, for kind == "values"
    scalar: float = 0.0  # fill constant, arange start or random seed

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def materialize(self, dtype: str = "float64") -> np.ndarray:
        if self.kind == "values":
            arr = np.asarray(self.values, dtype=np.float64).reshape(self.shape)
        elif self.kind == "fill":
            arr = np.full(self.shape, self.scalar, dtype=np.float64)
        elif self.kind == "arange":
            arr = (self.scalar + np.arange(self.size, dtype=np.float64)).reshape(self.shape)
        elif self.kind == "random":
            rng = np.random.default_rng(int(self.scalar))
            arr = rng.uniform(-1.0, 1.0, size=self.shape)
        else:  # pragma: no cover - guarded by the validator
            raise ValueError(f"unknown tensor kind {self.kind!r}")
        return round_to_dtype(arr, dtype)

    def to_yaml(self) -> object:
        """The spec back as case-file data (used by `convtx new`)."""
        if self.kind == "values":
            return np.asarray(self.values).reshape(self.shape).tolist()
        scalar = int(self.scalar) if float(self.scalar).is_integer() else float(self.scalar)
        return {"shape": list(self.shape), self.kind: scalar}


def round_to_dtype(arr: np.ndarray, dtype: str) -> np.ndarray:
    """Round float64 values to the nearest value of `dtype`, returned as float64."""
    arr = np.asarray(arr, dtype=np.float64)
    if dtype == "float64":
        return arr
    if dtype == "float32":
        return arr.astype(np.float32).astype(np.float64)
    if dtype == "float16":
        return arr.astype(np.float16).astype(np.float64)
    if dtype == "bfloat16":
        bits = arr.astype(np.float32).view(np.uint32)
        rounded = (bits + (((bits >> 16) & 1) + 0x7FFF)) & 0xFFFF0000
        out = rounded.astype(np.uint32).view(np.float32).astype(np.float64)
        return np.where(np.isnan(arr), np.nan, out)
    raise ValueError(f"unsupported dtype {dtype!r}")


def machine_eps(dtype: str) -> float:
    """Spacing of 1.0 in `dtype` (one ULP at 1)."""
    return {"float16": 2.0**-10, "bfloat16": 2.0**-7, "float32": 2.0**-23, "float64": 2.0**-52}[dtype]
