"""convtx's Python API: the suite, the runner, `translate` and the reference, from a user's own code.

    import convtx
    suite = convtx.load_cases("cases/")                       # valid entries + one-line errors
    run = convtx.run(suite, ["numpy", "torch"])               # RunResults: .results, .failing()
    t = convtx.translate("torch", 3, 3, stride=2, padding=1, output_padding=1)
    t.row("jax").call                                         # 'lax.conv_transpose(x, w, ...)'
    y = convtx.reference(x, w, framework="keras", strides=2, padding="same")

Everything is the command line's own machinery (`load_suite`, `run_suite` and the one cell path,
`translate.rows_for`, `semantics.read` + the NumPy reference), so an answer here is the answer
`convtx run`/`convtx translate` gives.  This module imports nothing but the standard library until
a function is called (`import convtx` stays fast and framework-free); `convtx/__init__.py` exposes
these names lazily.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence, Union

if TYPE_CHECKING:
    import numpy as np

    from convtx.adapters.contract import System
    from convtx.harness.analysis.translate import Row
    from convtx.harness.caseformat.casefile import Suite
    from convtx.harness.engine.results import Result, RunResults

__all__ = ["load_cases", "run", "translate", "reference", "Translation", "system_ids"]

PathLike = Union[str, "os.PathLike[str]"]
SystemSpec = Union[str, "type[System]"]


def _paths(paths: PathLike | Iterable[PathLike]) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


def load_cases(paths: PathLike | Iterable[PathLike]) -> "Suite":
    """Read case files and folders (recursively, *.yaml/*.yml) into a `Suite`.

    `suite.entries` are the valid cases (each with its canonical reading); `suite.errors` one
    `CaseError` per bad case, whose `str()` is the one-line `path:line:col: case 'id': ...` message.
    A bad case never stops the others."""
    from convtx.harness.caseformat.casefile import load_suite
    return load_suite(_paths(paths))


def system_ids(systems: str | Sequence[SystemSpec] | None = None) -> list[str]:
    """Registry ids for `systems`: None (every registered system), "a,b", or a list of ids and
    `System` subclasses (a subclass is registered for this process under its `id`, by its import
    path: define it at a module's top level).  Raises UsageError for an unknown id."""
    from convtx.harness.commands.options import selected_systems
    if systems is None or isinstance(systems, str):
        return selected_systems(systems)
    ids = [s if isinstance(s, str) else _register(s) for s in systems]
    return selected_systems(",".join(ids)) if ids else []


def _register(cls: "type[System]") -> str:
    from convtx import adapters
    from convtx.adapters.contract import System
    if not (isinstance(cls, type) and issubclass(cls, System)):
        raise TypeError(f"{cls!r} is neither a system id nor a convtx System subclass")
    if "<locals>" in cls.__qualname__:
        raise ValueError(f"{cls.__qualname__}: define the system class at a module's top level (its workers "
                         "import it by its path)")
    path = f"{cls.__module__}:{cls.__qualname__}"
    known = adapters.systems().get(cls.id)
    if known is None:
        adapters.register(cls.id, path)
    elif known != path:
        raise ValueError(f"system id {cls.id!r} is already taken by {known}")
    return cls.id


def run(cases_or_paths: "Suite | PathLike | Iterable[PathLike]", systems: str | Sequence[SystemSpec] | None = None,
        *, known_bugs: Iterable[PathLike] = (), timeout: float = 120.0, device: str = "cpu",
        progress: "Callable[[Result], None] | None" = None) -> "RunResults":
    """Every case through every system, as `convtx run` does; returns the `RunResults`.

    `cases_or_paths`: a `Suite` (from `load_cases`) or case files/folders.  `systems`: see
    `system_ids` (default: every registered system; a missing framework's cells are `skipped`).
    `known_bugs`: known-bug files of your own, on top of the systems' shipped ones (their cells read
    `xfail`).  `timeout`: seconds per framework call.  `progress` is called with each `Result`.
    Bad cases are in the results as `invalid`; `results.failing()` lists what does not conform."""
    from convtx.harness.caseformat.casefile import Suite
    from convtx.harness.engine import knownbugs
    from convtx.harness.engine.runner import RunOptions, run_suite
    suite = cases_or_paths if isinstance(cases_or_paths, Suite) else load_cases(cases_or_paths)
    ids = system_ids(systems)
    bugs = knownbugs.load(ids, _paths(known_bugs))
    opts = RunOptions(timeout=timeout, device=device, known_bugs=bugs)
    return run_suite(suite, ids, progress=progress, opts=opts)


@dataclass
class Translation:
    """One call said in every framework's terms (what `convtx translate` prints)."""

    source: str
    args: dict[str, Any]
    geometry: str  # the canonical problem, described
    full_size: list[int]
    output_size: list[int]
    rows: list["Row"] = field(default_factory=list)  # per framework: call, weight conversion, crops, trap

    def row(self, framework: str) -> "Row":
        """The row of one framework (KeyError naming the frameworks)."""
        for r in self.rows:
            if r.framework == framework:
                return r
        raise KeyError(f"no framework {framework!r} (have: {', '.join(r.framework for r in self.rows)})")


def _sizes(value: int | Sequence[int]) -> str:
    return str(value) if isinstance(value, int) else ",".join(str(v) for v in value)


def translate(source: str, kernel: int | Sequence[int], input_size: int | Sequence[int] | None = None, *,
              op: str = "conv_transpose", ndim: int | None = None, in_channels: int = 1, out_channels: int = 1,
              **args: Any) -> Translation:
    """A call written in `source`'s own arguments (`**args`, e.g. stride=2, padding=1), said in
    every framework's: the call or why there is none, the weight conversion, the output size, the
    crop per axis and the naive-port trap (`convtx translate`'s rows).

    `kernel`, `input_size`: an int or one per spatial axis (input size default 3; an int kernel
    without `ndim` is 2-D, a list gives the number of axes).  Raises
    ArgError/InvalidArguments for arguments the source framework would reject."""
    from types import SimpleNamespace

    from convtx.harness.analysis import translate as tr
    if ndim is None and not isinstance(kernel, int):
        ndim = len(kernel)
    options = SimpleNamespace(source=source, op=op, kernel=_sizes(kernel), ndim=ndim, in_channels=in_channels,
                              out_channels=out_channels, input_size=_sizes(3 if input_size is None else input_size))
    extra = [item for name, value in args.items() for item in (f"--{name}", json.dumps(value))]
    reading, src = tr.source_reading(options, extra)
    g = reading.geometry
    return Translation(source, src, g.describe(), list(g.full_size), list(g.out_size),
                       tr.rows_for(reading, source, src))


def reference(x: "np.ndarray", w: "np.ndarray", b: "np.ndarray | None" = None, *, framework: str = "torch",
              op: str = "conv_transpose", dtype: str = "float64", **args: Any) -> "np.ndarray":
    """The output a call written in `framework`'s own terms must give, by convtx's NumPy reference.

    `x`, `w` (and `b`, shape [C_out]) are in the framework's layouts, `**args` its own argument
    names (missing ones take its defaults), e.g. `reference(x, w, framework="jax", strides=(2, 2),
    padding="SAME")`; the result (float64) is in the framework's output layout.  With `dtype` the
    tensors are first rounded to it, as a case's are.  Raises ArgError (a malformed argument) or
    InvalidArguments (a call the framework refuses)."""
    import numpy as np

    from convtx.harness import semantics
    from convtx.harness.core import reference as ref
    from convtx.harness.core.problem import Problem
    from convtx.harness.core.tensors import round_to_dtype
    x, w = round_to_dtype(np.asarray(x), dtype), round_to_dtype(np.asarray(w), dtype)
    bias = None if b is None else round_to_dtype(np.asarray(b), dtype)
    reading = semantics.read(framework, op, args, x.shape, w.shape, bias is not None,
                             None if bias is None else bias.shape)
    problem = Problem(reading.geometry, np.ascontiguousarray(reading.to_canonical_input(x)),
                      reading.to_canonical_weight(w), bias, dtype)
    return np.ascontiguousarray(reading.from_canonical_output(ref.compute(problem)))
