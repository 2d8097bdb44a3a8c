"""What a printed call is made of: a `Route` (one way to say the call in a target framework: the native
arguments and the NumPy steps around them) and a `Hazard` (why it may not run here: a known bug or a
build's refusal).  Semantics owns them; `analysis.snippets` chooses routes and writes code from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from convtx.harness.core.problem import Geometry
from convtx.harness.semantics.common import Layout


@dataclass(frozen=True)
class Hazard:
    """Why a snippet may not run here: a known bug of a target system, or a build's refusal."""

    kind: str  # "known_bug" | "unsupported"
    system: str
    reason: str
    link: str
    where: str = ""  # when it holds: a known bug's scope, "float64 tensors", "TensorFlow without oneDNN"
    error: str = ""  # a regular expression on the error it gives ("" for a wrong result, or unknown)

    def text(self) -> str:
        where = f" [{self.where}]" if self.where else ""
        what = "known bug" if self.kind == "known_bug" else "unsupported"
        return f"{what} ({self.system}){where}: {self.reason} ({self.link})"


@dataclass(frozen=True)
class Route:
    """One way to run the call in the target: a native call and the NumPy steps around it."""

    args: Mapping[str, Any]  # the native call's arguments, as passed
    full_args: Mapping[str, Any]  # with the target's defaults (what known bugs read)
    layout: Layout  # the native call's tensor layouts
    geometry: Geometry  # the canonical problem the native call computes (one group's when split)
    split: int = 1  # > 1: run once per group and concatenate the outputs
    dilate: bool = False  # the kernel dilated with zeros in NumPy, the call undilated
    fix: tuple[tuple[int, int], ...] | None = None  # conv_transpose: crop of the full output; conv: input pads
    variant: str = ""  # a writer's own way (jax: "grouped")

    @property
    def exact(self) -> bool:
        return self.split == 1 and not self.dilate and self.fix is None

    def steps(self) -> str:
        """What the snippet does besides the native call ("" for an exact route)."""
        out = []
        if self.dilate:
            out.append("the kernel dilated with zeros (dilation 1 in the call)")
        if self.split > 1:
            out.append(f"one call per group ({self.split} groups), outputs concatenated")
        if self.fix is not None:
            word = "crop of the full output" if self.geometry.op == "conv_transpose" else "input padded"
            out.append(f"{word} {[tuple(c) for c in self.fix]} in NumPy")
        return "; ".join(out)
