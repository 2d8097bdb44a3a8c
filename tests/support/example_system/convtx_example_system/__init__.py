"""numpyish: a transposed convolution written with NumPy, in torch's meaning, plugged into convtx.

`conv_transpose` is a plain function with torch's arguments; `NumpyishSystem` wraps it as a convtx
system (convtx's `FunctionSystem` does the glue), registered by this package's pyproject.toml under
the `convtx.systems` entry point, with its own known-bug file beside this module.  The function is
deliberately wrong for groups > 1 (every group reads the first group's input channels), and the
known-bug file says so: such cells read `xfail` with the link, not `mismatch`.
"""

from __future__ import annotations

import itertools

import numpy as np

from convtx.adapters.function_system import FunctionSystem

__version__ = "0.2.0"


def conv_transpose(x, w, stride, padding, output_padding, dilation, groups):
    """torch.nn.functional.conv_transpose{1,2,3}d(x, w, None, stride, padding, output_padding, groups, dilation)."""
    n, c_in, *size = x.shape
    _, c_out_g, *kernel = w.shape
    c_in_g = c_in // groups
    full = [(i - 1) * s + d * (k - 1) + 1 for i, k, s, d in zip(size, kernel, stride, dilation)]
    out = np.zeros((n, c_out_g * groups, *(f + op for f, op in zip(full, output_padding))), dtype=x.dtype)
    for g in range(groups):
        xs = x[:, 0:c_in_g]  # the deliberate bug: should be x[:, g * c_in_g:(g + 1) * c_in_g]
        wg = w[g * c_in_g:(g + 1) * c_in_g]
        for tap in itertools.product(*(range(k) for k in kernel)):
            part = np.einsum("nc...,co->no...", xs, wg[(slice(None), slice(None), *tap)])
            window = tuple(slice(t * d, t * d + (i - 1) * s + 1, s) for t, d, i, s in zip(tap, dilation, size, stride))
            out[(slice(None), slice(g * c_out_g, (g + 1) * c_out_g), *window)] += part
    keep = tuple(slice(p, f + op - p) for p, f, op in zip(padding, full, output_padding))
    return out[(slice(None), slice(None), *keep)]


class NumpyishSystem(FunctionSystem):
    """numpyish as a convtx system: `conv_transpose` above, in a worker process like any framework."""

    id = "numpyish"
    install_hint = "pip install convtx-example-system"
    function = staticmethod(conv_transpose)
    function_version = __version__
    known_bugs_file = "known_bugs.yaml"
