"""Diagnoses of constructed discrepancies: each test builds a wrong output with the reference itself."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from convtx.harness.core import reference
from convtx.harness.analysis import diagnose as dg
from convtx.harness.core.problem import Axis, Geometry, Problem


def make(op="conv_transpose", cin=2, cout=3, groups=1, in_size=(3, 4), kernel=(3, 2), strides=None,
         crops=None, bias=False, seed=0) -> Problem:
    nd = len(in_size)
    strides = strides or (2,) * nd
    crops = crops or ((1, 0),) * nd
    axes = tuple(Axis(s, 1, lo, hi) for s, (lo, hi) in zip(strides, crops))
    g = Geometry(op, 1, cin, cout, groups, tuple(in_size), tuple(kernel), axes, bias)
    rng = np.random.default_rng(seed)
    x = rng.integers(-5, 6, size=g.input_shape).astype(np.float64)
    w = rng.integers(-4, 5, size=g.weight_shape).astype(np.float64)
    b = rng.integers(-3, 4, size=(cout,)).astype(np.float64) if bias else None
    return Problem(g, x, w, b)


def output(p: Problem, crops=None, w=None) -> np.ndarray:
    g = p.geometry
    if crops is not None:
        g = replace(g, axes=tuple(replace(a, lo=lo, hi=hi) for a, (lo, hi) in zip(g.axes, crops)))
    return reference.compute(Problem(g, p.x, p.w if w is None else w, p.b))


def run(p: Problem, actual, framework="torch", dtype="float32") -> dg.Diagnosis:
    d = dg.diagnose(p, actual, output(p), framework, dtype)
    assert d.kind in dg.KINDS
    return d


def test_kernel_flipped_jax_says_transpose_kernel():
    p = make()
    d = run(p, output(p, w=np.flip(p.w, axis=(2, 3))), "jax")
    assert d.kind == "kernel_flipped"
    assert "transpose_kernel=True" in d.sentence and d.sentence.startswith("jax output")


def test_kernel_flipped_other_framework_generic_advice():
    p = make(in_size=(5,), kernel=(3,))
    d = run(p, output(p, w=p.w[..., ::-1]), "onnxruntime")
    assert d.kind == "kernel_flipped" and "forward convolution would" in d.sentence


def test_channels_swapped():
    p = make(cin=3, cout=3)
    d = run(p, output(p, w=p.w.swapaxes(0, 1)))
    assert d.kind == "channels_swapped" and "transpose the weight's first two axes" in d.sentence


def test_shifted_one_axis_same_upper_vs_lower():
    p = make(in_size=(4,), kernel=(3,), crops=((1, 0),))
    d = run(p, output(p, crops=((0, 1),)), "keras")
    assert d.kind == "shifted"
    assert d.details["axis"] == 0 and d.details["shift"] == 1 and d.details["crops"] == [[0, 1]]
    assert "shifted by 1 along spatial axis 0 (crop (0, 1) instead of (1, 0))" in d.sentence
    assert "SAME_UPPER vs SAME_LOWER" in d.sentence


def test_shifted_two_axes_with_bias():
    p = make(in_size=(3, 3), kernel=(3, 3), bias=True)
    d = run(p, output(p, crops=((0, 1), (0, 1))), "keras")
    assert d.kind == "shifted" and d.details["shifts"] == [1, 1] and d.details["axes"] == [0, 1]
    assert "[(0, 1), (0, 1)] instead of [(1, 0), (1, 0)]" in d.sentence


def test_crop_missing_zero_extension():
    p = make(in_size=(3,), kernel=(2,), strides=(4,), crops=((0, -2),))
    d = run(p, output(p, crops=((0, 0),)), "onnxruntime")
    assert d.kind == "crop" and d.details["crops"] == [[0, 0]] and not d.details["flipped"]
    assert "cropped (0, 0) instead of (0, -2)" in d.sentence
    assert "no zero extension at the end" in d.sentence and "output_padding 0 instead of None" in d.sentence


def test_crop_zero_extension_added():
    p = make(in_size=(3,), kernel=(2,), strides=(4,), crops=((0, 0),), bias=True)
    d = run(p, output(p, crops=((0, -2),)), "keras")
    assert d.kind == "crop" and "zero extension added at the end" in d.sentence


def test_crop_with_flipped_kernel_is_the_naive_jax_port():
    # torch padding=1, output_padding=1 is crop (1, 0); jax padding ((1, 1),) read literally is crop (1, 1), flipped
    p = make(in_size=(4,), kernel=(3,), crops=((1, 0),))
    d = run(p, output(p, crops=((1, 1),), w=p.w[..., ::-1]), "jax")
    assert d.kind == "crop" and d.details["flipped"] and d.details["crops"] == [[1, 1]]
    assert "full output of the spatially flipped kernel cropped (1, 1) instead of (1, 0)" in d.sentence
    assert "transpose_kernel=True" in d.sentence


def test_precision_reports_errors_ulps_and_mismatched_line():
    p = make()
    exp = output(p)
    noise = np.where(np.arange(exp.size).reshape(exp.shape) % 3 == 0, 4e-6, -2e-6)
    d = run(p, exp + noise * np.abs(exp).max())
    assert d.kind == "precision"
    assert d.details["max_abs"] > 0 and 20 < d.details["ulps"] < 50
    assert "differs only by rounding" in d.sentence and "ULPs of float32" in d.sentence
    assert "Mismatched elements: " in d.sentence and d.details["mismatched"] > 0


def test_group_order_weight_and_output():
    p = make(cin=4, cout=4, groups=2)
    w_rev = p.w.reshape(2, 2, *p.w.shape[1:])[::-1].reshape(p.w.shape)
    d = run(p, output(p, w=w_rev))
    assert d.kind == "group_order" and d.details == {"groups": 2, "reversed": "weight"}
    out_rev = output(p).reshape(1, 2, 2, *output(p).shape[2:])[:, ::-1].reshape(output(p).shape)
    d = run(p, out_rev)
    assert d.kind == "group_order" and d.details["reversed"] == "output"


def test_size_gives_both_shapes_and_the_formula():
    p = make(in_size=(3, 3), kernel=(3, 3))
    garbage = np.random.default_rng(1).normal(size=(1, 3, 8, 8))
    d = run(p, garbage)
    assert d.kind == "size" and d.details["formula_sizes"] == [6, 6]
    assert "out.shape=(1, 3, 8, 8), but should be (1, 3, 6, 6)" in d.sentence
    assert "(3-1)*2 + 1*(3-1) + 1 - 1 - 0 = 6" in d.sentence


def test_unexplained_garbage():
    p = make()
    d = run(p, np.random.default_rng(2).normal(size=output(p).shape))
    assert d.kind == "unexplained" and d.details["searched"]
    assert "Mismatched elements: " in d.sentence and d.details["max_abs"] > 0


def test_actual_matching_the_reference_blames_the_expected_tensor():
    p = make()
    d = dg.diagnose(p, output(p), output(p) + 1.0, "torch")
    assert d.kind == "unexplained" and d.details["matches_reference"] and "case file" in d.sentence


def test_large_problems_skip_the_search(monkeypatch):
    monkeypatch.setattr(dg, "SEARCH_LIMIT", 10)
    p = make()
    d = run(p, output(p, w=np.flip(p.w, axis=(2, 3))), "jax")
    assert d.kind == "unexplained" and not d.details["searched"] and "too large" in d.sentence


def test_forward_conv_flipped_and_shifted_pads():
    p = make(op="conv", cin=2, cout=3, in_size=(6, 5), kernel=(3, 2), strides=(1, 1), crops=((1, 0), (0, 1)))
    d = run(p, output(p, w=np.flip(p.w, axis=(2, 3))))
    assert d.kind == "kernel_flipped" and "true convolution" in d.sentence
    d = run(p, output(p, crops=((0, 1), (0, 1))), "onnxruntime")
    assert d.kind == "shifted" and d.details["crops"] == [[0, 1], [0, 1]] and d.details["shift"] == -1
    assert "input padded [(0, 1), (0, 1)] instead of [(1, 0), (0, 1)]" in d.sentence


def test_forward_conv_strided_other_pads_and_swapped_channels():
    p = make(op="conv", cin=3, cout=3, in_size=(7,), kernel=(3,), strides=(2,), crops=((1, 1),))
    d = run(p, output(p, crops=((0, 0),)))  # pads (0, 0) and (0, 1) give the same output: the nearer is named
    assert d.kind == "crop" and d.details["crops"] == [[0, 1]] and "padded (0, 1) instead of (1, 1)" in d.sentence
    assert "padded 0 instead of 1 at the start" in d.sentence
    d = run(p, output(p, w=p.w.swapaxes(0, 1)))
    assert d.kind == "channels_swapped"


def test_nan_is_counted_and_an_empty_output_is_a_size_error():
    p = make()
    exp = output(p)
    bad = exp.copy()
    bad[0, 0, 0, 0] = np.nan
    d = run(p, bad)
    assert d.kind == "unexplained" and d.details["nonfinite"] == 1 and "1 NaN/inf" in d.sentence
    assert run(p, np.zeros((1, 3, 0, 0))).kind == "size"


def test_verdicts_carry_the_diagnosis(write_case):
    """Wired into the runner: a failing verdict says why, for the framework or for the case file."""
    from convtx.harness.caseformat.casefile import load_suite
    from convtx.harness.engine.verdict import judge, problem_of

    case = """
id: k3-s2
framework: torch
args: {stride: 2, padding: 1, output_padding: 1}
input: {shape: [1, 1, 3, 3], arange: 1}
weight: [[[[1, 2, 0], [0, 1, 0], [3, 0, 1]]]]
expected: {shape: [1, 1, 6, 6]}
"""
    entry = load_suite([write_case(case)]).entries[0]
    problem = problem_of(entry)
    flipped = problem.w[:, :, ::-1, ::-1].copy()
    from convtx.harness.core import reference
    out = reference.conv_transpose(problem.x, flipped, None, problem.geometry)
    result = judge(entry, "jax", out[:, :, :5, :5], "lax.conv_transpose(...)", "w")
    assert result.status == "shape_mismatch"
    assert "spatially flipped kernel cropped [(1, 1), (1, 1)] instead of [(1, 0), (1, 0)]" in result.diagnosis
    assert "pass transpose_kernel=True" in result.diagnosis
