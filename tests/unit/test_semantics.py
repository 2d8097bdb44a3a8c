"""Framework arguments -> canonical crop, checked on the worked examples of SEMANTICS.md."""

from __future__ import annotations

import pytest

from convtx.harness import semantics
from convtx.harness.semantics.common import ArgError


def crop(framework, args, x_shape, w_shape, op="conv_transpose"):
    reading = semantics.read(framework, op, args, x_shape, w_shape, False)
    return reading.geometry.crops, reading.output_shape()


def test_torch_padding_and_output_padding():
    assert crop("torch", {"stride": 2, "padding": 1, "output_padding": 1}, (1, 1, 3, 3), (1, 1, 3, 3)) == (
        ((1, 0), (1, 0)), (1, 1, 6, 6))


def test_torch_output_size_picks_output_padding():
    assert crop("torch", {"stride": 2, "padding": 1, "output_size": [6, 6]}, (1, 1, 3, 3), (1, 1, 3, 3))[0] == (
        (1, 0), (1, 0))
    with pytest.raises(semantics.InvalidArguments, match="output_size"):
        crop("torch", {"stride": 2, "padding": 1, "output_size": [7, 7]}, (1, 1, 3, 3), (1, 1, 3, 3))


def test_torch_refuses_output_padding_not_below_stride_or_dilation():
    with pytest.raises(semantics.InvalidArguments, match="smaller than either stride"):
        crop("torch", {"stride": 2, "output_padding": 2}, (1, 1, 3, 3), (1, 1, 3, 3))
    # op < dilation is enough for torch
    assert crop("torch", {"stride": 1, "dilation": 2, "output_padding": 1}, (1, 1, 3), (1, 1, 3))[0] == ((0, -1),)


def test_keras_same_k3_s2_crops_at_the_end():
    assert crop("keras", {"strides": 2, "padding": "same"}, (1, 3, 3, 1), (3, 3, 1, 1)) == (
        ((0, 1), (0, 1)), (1, 6, 6, 1))


def test_keras_valid_output_padding_none_vs_zero():
    none = crop("keras", {"strides": 4, "padding": "valid"}, (1, 2, 2, 1), (2, 2, 1, 1))
    zero = crop("keras", {"strides": 4, "padding": "valid", "output_padding": 0}, (1, 2, 2, 1), (2, 2, 1, 1))
    assert none == (((0, -2), (0, -2)), (1, 8, 8, 1))
    assert zero == (((0, 0), (0, 0)), (1, 6, 6, 1))


def test_keras_same_with_output_padding_and_even_kernel():
    assert crop("keras", {"strides": 2, "padding": "same", "output_padding": 1}, (1, 3, 1), (3, 1, 1))[0] == ((0, 1),)
    assert crop("keras", {"strides": 2, "padding": "same", "output_padding": 0}, (1, 3, 1), (4, 1, 1)) == (
        ((2, 2),), (1, 4, 1))


def test_keras_refuses_strides_with_dilation():
    with pytest.raises(semantics.InvalidArguments, match="dilation_rate"):
        crop("keras", {"strides": 2, "dilation_rate": 2}, (1, 3, 1), (3, 1, 1))


def test_jax_explicit_padding_both_meanings():
    legacy = crop("jax", {"strides": [2], "padding": [[1, 2]]}, (1, 3, 1), (3, 1, 1))
    consistent = crop("jax", {"strides": [2], "padding": [[1, 0]], "use_consistent_padding": True},
                      (1, 3, 1), (3, 1, 1))
    assert legacy[0] == ((1, 0),) == consistent[0]


def test_jax_same_and_valid_with_kernel_below_stride():
    assert crop("jax", {"strides": [3], "padding": "SAME"}, (1, 3, 1), (2, 1, 1)) == (((0, -1),), (1, 9, 1))
    assert crop("jax", {"strides": [3], "padding": "VALID"}, (1, 3, 1), (2, 1, 1)) == (((0, -1),), (1, 9, 1))


def test_jax_default_kernel_is_flipped_and_transpose_kernel_is_not():
    plain = semantics.read("jax", "conv_transpose", {"strides": [1], "padding": "VALID"}, (1, 3, 1), (3, 1, 1), False)
    tk = semantics.read("jax", "conv_transpose", {"strides": [1], "padding": "VALID", "transpose_kernel": True},
                        (1, 3, 1), (3, 1, 1), False)
    assert plain.layout.flipped and not tk.layout.flipped


def test_tf_output_shape_picks_among_stride_sizes():
    five = crop("tf", {"strides": 2, "padding": "SAME", "output_shape": [1, 5, 5, 1]}, (1, 3, 3, 1), (3, 3, 1, 1))
    six = crop("tf", {"strides": 2, "padding": "SAME", "output_shape": [1, 6, 6, 1]}, (1, 3, 3, 1), (3, 3, 1, 1))
    assert five[0] == ((1, 1), (1, 1)) and six[0] == ((0, 1), (0, 1))
    with pytest.raises(semantics.InvalidArguments, match="does not map back"):
        crop("tf", {"strides": 2, "padding": "SAME", "output_shape": [1, 7, 7, 1]}, (1, 3, 3, 1), (3, 3, 1, 1))


def test_tf_explicit_padding():
    assert crop("tf", {"strides": 2, "padding": [[0, 0], [1, 0], [1, 0], [0, 0]], "output_shape": [1, 6, 6, 1]},
                (1, 3, 3, 1), (3, 3, 1, 1))[0] == ((1, 0), (1, 0))


def test_onnx_pads_output_shape_and_auto_pad():
    assert crop("onnx", {"strides": [2, 2], "pads": [1, 1, 1, 1], "output_padding": [1, 1]},
                (1, 1, 3, 3), (1, 1, 3, 3))[0] == ((1, 0), (1, 0))
    upper = crop("onnx", {"strides": [3], "auto_pad": "SAME_UPPER"}, (1, 1, 3), (1, 1, 2))
    lower = crop("onnx", {"strides": [3], "auto_pad": "SAME_LOWER"}, (1, 1, 3), (1, 1, 2))
    assert upper == (((-1, 0),), (1, 1, 9)) and lower == (((0, -1),), (1, 1, 9))


def test_forward_conv_same_padding():
    assert crop("torch", {"padding": "same"}, (1, 1, 5), (1, 1, 4), op="conv")[0] == ((1, 2),)
    assert crop("keras", {"strides": 2, "padding": "same"}, (1, 5, 1), (3, 1, 1), op="conv")[0] == ((1, 1),)
    assert crop("onnx", {"strides": [2], "auto_pad": "SAME_LOWER"}, (1, 1, 5), (1, 1, 4), op="conv")[0] == ((2, 1),)


def test_unknown_argument_names_the_known_ones():
    with pytest.raises(ArgError, match="torch conv_transpose has no argument 'strides'"):
        crop("torch", {"strides": 2}, (1, 1, 3), (1, 1, 3))


def test_layout_conversion_round_trips():
    import numpy as np
    reading = semantics.read("keras", "conv_transpose", {}, (2, 4, 5, 3), (2, 3, 6, 3), False)
    x = np.arange(2 * 4 * 5 * 3).reshape(2, 4, 5, 3)
    assert reading.to_canonical_input(x).shape == (2, 3, 4, 5)
    w = np.arange(2 * 3 * 6 * 3).reshape(2, 3, 6, 3)
    cw = reading.to_canonical_weight(w)
    assert cw.shape == (3, 6, 2, 3) and cw[1, 4, 0, 2] == w[0, 2, 4, 1]
    y = np.zeros(reading.geometry.output_shape)
    assert reading.from_canonical_output(y).shape == reading.output_shape() == (2, 5, 7, 6)
