"""The typed case model (format v1): what one YAML mapping means once validated.

`Case` is immutable and carries where it came from (`path`, `mark`, per-key marks) so that later
stages (semantics, the runner) can still point at the line a problem comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from convtx.harness.core.errors import Mark
from convtx.harness.core.tensors import TensorSpec

CASE_KEYS = ("id", "framework", "op", "args", "input", "weight", "bias", "expected", "dtype",
             "tolerance", "title", "source", "notes", "tags", "allow_nonfinite")
REQUIRED_KEYS = ("id", "framework", "input", "weight", "expected")

# torch.testing.assert_close's defaults per dtype.
DEFAULT_TOLERANCE = {
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
}


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float


@dataclass(frozen=True)
class Expected:
    """`kind` is 'tensor' (values known), 'shape' (only the shape) or 'invalid' (must be refused)."""

    kind: str
    tensor: TensorSpec | None = None
    shape: tuple[int, ...] | None = None
    reason: str | None = None

    @property
    def spec(self) -> TensorSpec:
        """The expected tensor (kind 'tensor'); an error for the other kinds, which have none."""
        if self.tensor is None:
            raise ValueError(f"an expected output of kind {self.kind!r} has no values")
        return self.tensor

    def output_shape(self) -> tuple[int, ...] | None:
        """The shape the case expects (kinds 'tensor' and 'shape'); None for 'invalid' and 'pending'."""
        if self.tensor is not None:
            return tuple(self.tensor.shape)
        return tuple(self.shape) if self.shape is not None else None


@dataclass(frozen=True)
class Source:
    document: str
    where: str = ""


@dataclass(frozen=True)
class Case:
    id: str
    framework: str
    op: str
    args: Mapping[str, Any]
    input: TensorSpec
    weight: TensorSpec
    expected: Expected
    bias: TensorSpec | None = None
    dtype: str = "float32"
    tolerance: Tolerance | None = None
    title: str = ""
    source: Source | None = None
    notes: str = ""
    tags: tuple[str, ...] = ()
    allow_nonfinite: bool = False
    path: str = ""
    mark: Mark | None = None
    marks: Mapping[str, Mark] = field(default_factory=dict)  # "args.stride" -> position

    @property
    def tol(self) -> Tolerance:
        if self.tolerance is not None:
            return self.tolerance
        return Tolerance(*DEFAULT_TOLERANCE[self.dtype])

    def mark_of(self, field_path: str) -> Mark | None:
        """The most specific known position for a dotted field path."""
        parts = field_path.split(".")
        while parts:
            found = self.marks.get(".".join(parts))
            if found:
                return found
            parts.pop()
        return self.mark

    def tensors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Input, weight and bias values in the case's own layout, rounded to its dtype."""
        bias = self.bias.materialize(self.dtype) if self.bias is not None else None
        return self.input.materialize(self.dtype), self.weight.materialize(self.dtype), bias
