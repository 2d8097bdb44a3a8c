"""The large-case half of `convtx bench`: validating a ~20 MB case file of about a million numbers.

`write_large_case` writes a 3-D transposed convolution the way a framework's own correctness test
would be written out: explicit input and weight values (float32 numbers, as their shortest decimal)
and the expected output of the NumPy reference (float64, 17 significant digits), nested lists, one
innermost row per line.  `large_case_figures` times `convtx validate FILE` in a fresh process (wall
time and peak RSS from wait4), against importing tensorflow in the same run.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

from convtx.harness.commands.bench_layers import Figure

SIZE, C_IN, C_OUT = 24, 8, 8  # input 8x24^3, output 8x49^3: 941,192 expected values, ~21 MB


def _rows(arr: np.ndarray, indent: str) -> str:
    if arr.ndim == 1:
        return "[" + ", ".join(repr(float(v)) for v in arr) + "]"
    inner = indent + " "
    return "[" + (",\n" + inner).join(_rows(a, inner) for a in arr) + "]"


def write_large_case(path: str, size: int = SIZE, c_in: int = C_IN, c_out: int = C_OUT) -> int:
    """Write the case; returns the number of numbers in it."""
    from convtx.harness.core import reference
    from convtx.harness.core.problem import Axis, Geometry, Problem

    rng = np.random.default_rng(2026)
    x = rng.uniform(-1, 1, (1, c_in, size, size, size)).astype(np.float32).astype(np.float64)
    w = rng.uniform(-1, 1, (c_in, c_out, 3, 3, 3)).astype(np.float32).astype(np.float64)
    g = Geometry("conv_transpose", 1, c_in, c_out, 1, (size,) * 3, (3,) * 3, (Axis(2, 1, 0, 0),) * 3)
    y = reference.compute(Problem(g, x, w, None, "float64"))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("- id: bench-large-3d\n  title: a 3-D layer written out, about a million numbers\n"
                 "  framework: torch\n  args: {stride: 2}\n  dtype: float64\n"
                 "  tolerance: {rtol: 1.0e-9, atol: 1.0e-9}\n")
        for key, arr in (("input", x), ("weight", w), ("expected", y)):
            fh.write(f"  {key}: {_rows(arr, ' ' * (len(key) + 4))}\n")
    return x.size + w.size + y.size


def large_case_figures(tf_import: float | None, timed) -> list[Figure]:
    """validate time / import tensorflow, and the peak RSS against 3x the file + 150 MiB."""
    name = "validate a 20 MB case (1 M numbers) / import tensorflow"
    with tempfile.TemporaryDirectory(prefix="convtx-bench-large-") as tmp:
        path = os.path.join(tmp, "large.yaml")
        count = write_large_case(path)
        mib = os.path.getsize(path) / 2**20
        wall, code, maxrss, _ = timed([sys.executable, "-m", "convtx.harness", "validate", path], rss=True)
    rss = maxrss / 1024 if maxrss is not None else None
    detail = f"{mib:.1f} MiB file, {count:,} numbers: convtx validate {wall:.2f} s (exit {code})"
    if tf_import is None:
        ratio = Figure(name, None, "<= 1.0", detail=detail + "; not measured: tensorflow not installed")
    else:
        ratio = Figure(name, wall / tf_import, "<= 1.0", detail=detail + f" / import tensorflow {tf_import:.2f} s")
    limit = 3 * mib + 150
    return [ratio, Figure("validate a 20 MB case: peak RSS (MiB)", rss, f"<= {limit:.0f}",
                          detail=f"ru_maxrss of its process tree; the target is 3x the file ({mib:.1f} MiB) + 150 MiB")]
