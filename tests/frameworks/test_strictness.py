"""convtx reads exactly the argument forms each framework takes: every form it accepts runs in the real
framework as written and gives what convtx reads it as; every form it refuses, the framework refuses too.

Each form is run through the source framework's own snippet (`snippets.snippet(..., own=True)`: the
arguments passed as written; YAML lists are Python lists, except that jax's are tuples, as lax's
`use_consistent_padding` pairs need), in one worker per framework.  A refused form is run as its valid
twin's snippet with the refused arguments put in instead.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from support.snippet_worker import expected_output, run_all

NHWC, HWIO, NCHW = (1, 3, 3, 1), (3, 3, 1, 1), (1, 1, 3, 3)
# (framework, op, args, x shape, w shape); the valid twin of a refused form is given after it
ACCEPTED = [
    ("jax", "conv_transpose", {"strides": [2, 2], "padding": "SAME"}, NHWC, HWIO),
    ("jax", "conv_transpose", {"strides": [2, 1], "padding": "VALID", "rhs_dilation": [1, 2]}, NHWC, HWIO),
    ("jax", "conv_transpose", {"strides": [2, 2], "padding": [[1, 1], [0, 2]]}, NHWC, HWIO),
    ("jax", "conv_transpose", {"strides": [2, 2], "padding": [[1, 1], [1, 0]], "use_consistent_padding": True},
     NHWC, HWIO),
    ("jax", "conv_transpose", {"strides": [1, 1], "padding": "same"}, (1, 3, 3, 1), (2, 3, 1, 1)),
    ("jax", "conv_transpose", {"strides": [1, 1], "padding": "valid"}, NHWC, HWIO),
    ("jax", "conv_transpose", {"strides": [1, 1], "padding": "SAME_LOWER"}, (1, 3, 3, 1), (2, 3, 1, 1)),
    ("jax", "conv_transpose", {"strides": [2, 2], "padding": "SAME", "transpose_kernel": True}, NHWC, HWIO),
    ("jax", "conv_transpose", {"strides": [2, 2], "padding": "SAME", "dimension_numbers": ["NCHW", "OIHW", "NCHW"]},
     NCHW, NCHW),
    ("jax", "conv", {"window_strides": [2, 2], "padding": "same"}, (1, 1, 5, 5), NCHW),
    ("jax", "conv", {"window_strides": [2, 2], "padding": "same_lower"}, (1, 1, 4, 4), (1, 1, 2, 2)),
    ("jax", "conv", {"window_strides": [1, 1], "padding": [[1, 0], [0, 1]], "rhs_dilation": [2, 1]}, (1, 1, 5, 5),
     NCHW),
    ("torch", "conv_transpose", {"stride": [2], "padding": [1], "output_padding": [1], "dilation": [1]}, NCHW, NCHW),
    ("torch", "conv_transpose", {"stride": 2, "padding": 1, "output_size": [6, 6]}, NCHW, NCHW),
    ("torch", "conv_transpose", {"stride": 2, "padding": 1, "output_size": [1, 1, 6, 6]}, NCHW, NCHW),
    ("torch", "conv", {"padding": "same"}, NCHW, NCHW),
    ("torch", "conv", {"padding": [1], "stride": [2]}, NCHW, NCHW),
    ("keras", "conv_transpose", {"strides": 2, "padding": "SAME"}, NHWC, HWIO),
    ("keras", "conv_transpose", {"strides": [2, 2], "padding": "valid", "output_padding": 1}, NHWC, HWIO),
    ("keras", "conv_transpose", {"strides": 2, "data_format": None}, NHWC, HWIO),
    ("keras", "conv_transpose", {"strides": 2, "data_format": "CHANNELS_LAST"}, NHWC, HWIO),
    ("keras", "conv", {"strides": 2, "padding": "Same"}, (1, 5, 5, 1), HWIO),
    ("tf", "conv_transpose", {"output_shape": [1, 6, 6, 1], "strides": [2], "padding": "SAME"}, NHWC, HWIO),
    ("tf", "conv_transpose", {"output_shape": [1, 6, 6, 1], "strides": [1, 2, 2, 1], "padding": "SAME"}, NHWC, HWIO),
    ("tf", "conv_transpose", {"output_shape": [6, 6], "strides": 2, "padding": "SAME"}, NHWC, HWIO),
    ("tf", "conv_transpose", {"output_shape": [1, 5, 5, 1], "strides": 2, "padding": [[0, 0], [1, 1], [1, 1], [0, 0]]},
     NHWC, HWIO),
    ("tf", "conv_transpose", {"output_shape": [1, 6, 1], "strides": [2], "padding": "SAME"}, (1, 3, 1), (3, 1, 1)),
    ("tf", "conv", {"strides": [2], "padding": "SAME", "dilations": [1]}, (1, 5, 5, 1), HWIO),
    ("tf", "conv", {"strides": 2, "padding": [[0, 0], [1, 0], [0, 1], [0, 0]]}, (1, 5, 5, 1), HWIO),
    ("onnx", "conv_transpose", {"strides": [2, 2], "pads": [1, 1, 0, 0]}, NCHW, NCHW),
    ("onnx", "conv_transpose", {"strides": [2, 2], "output_shape": [6, 6]}, NCHW, NCHW),
    ("onnx", "conv_transpose", {"strides": [2, 2], "auto_pad": "SAME_LOWER"}, NCHW, NCHW),
    ("onnx", "conv_transpose", {"strides": [2, 2], "output_padding": [1, 1], "kernel_shape": [3, 3]}, NCHW, NCHW),
    ("onnx", "conv", {"strides": [2, 2], "auto_pad": "SAME_UPPER"}, (1, 1, 4, 4), (1, 1, 2, 2)),
    ("paddle", "conv_transpose", {"stride": [2, 2], "padding": "same"}, NCHW, NCHW),
    ("paddle", "conv_transpose", {"stride": 2, "padding": [1, 0, 1, 0]}, NCHW, NCHW),
    ("paddle", "conv_transpose", {"stride": 2, "padding": [[0, 0], [0, 0], [1, 0], [1, 0]]}, NCHW, NCHW),
    ("paddle", "conv_transpose", {"stride": 2, "padding": 1, "output_size": 6}, NCHW, NCHW),
    ("paddle", "conv_transpose", {"stride": 2, "data_format": "NHWC"}, NHWC, NCHW),
    ("paddle", "conv", {"stride": 2, "padding": "SAME"}, (1, 1, 5, 5), NCHW),
]
# (framework, op, refused args, the valid twin's args, x shape, w shape)
REFUSED = [
    ("jax", "conv_transpose", {"strides": 2, "padding": "SAME"}, {"strides": [2, 2], "padding": "SAME"}, NHWC, HWIO),
    ("jax", "conv_transpose", {"strides": [2], "padding": "SAME"}, {"strides": [2, 2], "padding": "SAME"}, NHWC, HWIO),
    ("jax", "conv_transpose", {"strides": [2, 2], "padding": "SAME", "rhs_dilation": 2},
     {"strides": [2, 2], "padding": "SAME"}, NHWC, HWIO),
    ("jax", "conv_transpose", {"strides": [2, 2], "padding": "same"}, {"strides": [2, 2], "padding": "SAME"}, NHWC, HWIO),
    ("jax", "conv_transpose", {"strides": [2, 2], "padding": [1, 1]}, {"strides": [2, 2], "padding": "SAME"}, NHWC, HWIO),
    ("jax", "conv_transpose", {"strides": [1, 1], "padding": "same", "use_consistent_padding": True},
     {"strides": [1, 1], "padding": "SAME"}, NHWC, HWIO),
    ("jax", "conv", {"window_strides": 2, "padding": "SAME"}, {"window_strides": [2, 2], "padding": "SAME"},
     (1, 1, 5, 5), NCHW),
    ("jax", "conv", {"window_strides": [1, 1], "padding": "SAME", "rhs_dilation": 2},
     {"window_strides": [1, 1], "padding": "SAME"}, (1, 1, 5, 5), NCHW),
    ("torch", "conv_transpose", {"stride": 2, "padding": 1, "output_size": 6}, {"stride": 2, "padding": 1}, NCHW, NCHW),
    ("torch", "conv_transpose", {"stride": [2, 2, 2]}, {"stride": 2}, NCHW, NCHW),
    ("torch", "conv", {"padding": "SAME"}, {"padding": "same"}, NCHW, NCHW),
    ("keras", "conv_transpose", {"strides": [2]}, {"strides": 2}, NHWC, HWIO),
    ("keras", "conv_transpose", {"strides": 2, "output_padding": [1]}, {"strides": 2, "output_padding": 1}, NHWC, HWIO),
    ("keras", "conv_transpose", {"padding": "full"}, {"padding": "valid"}, NHWC, HWIO),
    ("tf", "conv_transpose", {"output_shape": [1, 5, 5, 1], "strides": 2, "padding": [[1, 1], [1, 1]]},
     {"output_shape": [1, 5, 5, 1], "strides": 2, "padding": [[0, 0], [1, 1], [1, 1], [0, 0]]}, NHWC, HWIO),
    ("tf", "conv_transpose", {"output_shape": [1, 6, 6, 1], "strides": 2, "padding": "same"},
     {"output_shape": [1, 6, 6, 1], "strides": 2, "padding": "SAME"}, NHWC, HWIO),
    ("tf", "conv_transpose", {"output_shape": [6], "strides": 2, "padding": "SAME"},
     {"output_shape": [1, 6, 1], "strides": 2, "padding": "SAME"}, (1, 3, 1), (3, 1, 1)),
    ("tf", "conv", {"strides": 2, "padding": [[1, 0], [0, 1]]}, {"strides": 2, "padding": "SAME"}, (1, 5, 5, 1), HWIO),
    ("onnx", "conv_transpose", {"strides": 2}, {"strides": [2, 2]}, NCHW, NCHW),
    ("onnx", "conv_transpose", {"pads": 1}, {"pads": [1, 1, 1, 1]}, NCHW, NCHW),
    ("onnx", "conv_transpose", {"pads": [1, 1]}, {"pads": [1, 1, 1, 1]}, NCHW, NCHW),
    ("onnx", "conv_transpose", {"strides": [2, 2], "output_shape": [1, 1, 6, 6]},
     {"strides": [2, 2], "output_shape": [6, 6]}, NCHW, NCHW),
    ("onnx", "conv_transpose", {"strides": [2, 2], "auto_pad": "SAME_UPPER", "pads": [0, 0, 0, 0]},
     {"strides": [2, 2], "auto_pad": "SAME_UPPER"}, NCHW, NCHW),
    ("onnx", "conv_transpose", {"strides": [2, 2], "auto_pad": "same_upper"},
     {"strides": [2, 2], "auto_pad": "SAME_UPPER"}, NCHW, NCHW),
    ("paddle", "conv_transpose", {"stride": [2]}, {"stride": 2}, NCHW, NCHW),
    ("paddle", "conv_transpose", {"padding": [1]}, {"padding": 1}, NCHW, NCHW),
    ("paddle", "conv_transpose", {"stride": 2, "data_format": None}, {"stride": 2}, NCHW, NCHW),
    ("paddle", "conv_transpose", {"stride": 2, "data_format": "nchw"}, {"stride": 2}, NCHW, NCHW),
]
SYSTEM = {"torch": "torch", "keras": "keras", "tf": "tf", "jax": "jax", "onnx": "onnxruntime", "paddle": "paddle"}


def _inputs(x_shape, w_shape, seed):
    rng = np.random.default_rng(seed)
    return {"x": rng.uniform(-1, 1, x_shape).astype(np.float32), "w": rng.uniform(-1, 1, w_shape).astype(np.float32),
            "b": None}


def _snippet(fw, reading, args=None):
    from convtx.harness.analysis import snippets
    from convtx.harness.semantics.snippet_writers import WRITERS
    route = snippets.route_of(reading)
    if args is not None:
        route = dataclasses.replace(route, args=args)
    return snippets.code(WRITERS[fw], reading, route)


@pytest.fixture(scope="module")
def outcomes():
    from support.frameworks import require
    from convtx.harness import semantics
    for system in SYSTEM.values():
        require(system)
    jobs: dict[str, list] = {fw: [] for fw in SYSTEM}
    readings = {}
    for i, (fw, op, args, xs, ws) in enumerate(ACCEPTED):
        readings[("ok", i)] = reading = semantics.read(fw, op, args, xs, ws, False)
        jobs[fw].append((("ok", i), _snippet(fw, reading), _inputs(xs, ws, i)))
    for i, (fw, op, bad, twin, xs, ws) in enumerate(REFUSED):
        with pytest.raises((semantics.ArgError, semantics.InvalidArguments)):
            semantics.read(fw, op, bad, xs, ws, False)
        reading = semantics.read(fw, op, twin, xs, ws, False)
        jobs[fw].append((("refused", i), _snippet(fw, reading, bad), _inputs(xs, ws, i)))
    return readings, run_all(jobs, timeout=900)


@pytest.mark.parametrize("i", range(len(ACCEPTED)), ids=[f"{f}-{o}-{a}" for f, o, a, _, _ in ACCEPTED])
def test_every_accepted_form_runs_as_convtx_reads_it(outcomes, i):
    readings, results = outcomes
    kind, y = results[("ok", i)]
    assert kind == "ok", y
    x, w = (_inputs(*ACCEPTED[i][3:5], i)[k] for k in "xw")
    want = expected_output(readings[("ok", i)], x, w, None)
    assert y.shape == want.shape and np.allclose(y, want, rtol=1e-5, atol=1e-5), (y, want)


@pytest.mark.parametrize("i", range(len(REFUSED)), ids=[f"{f}-{o}-{a}" for f, o, a, _, _, _ in REFUSED])
def test_every_refused_form_is_refused_by_the_framework(outcomes, i):
    _, results = outcomes
    kind, message = results[("refused", i)]
    assert kind == "err", f"{REFUSED[i][0]} took {REFUSED[i][2]} (convtx refuses it)"
