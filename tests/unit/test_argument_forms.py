"""Reading is exactly as strict as the framework: the forms a framework refuses are refused with a message
that says the form it takes, and the forms it takes are read (tests/frameworks/test_strictness.py runs
both kinds in the real frameworks)."""

from __future__ import annotations

import pytest

from convtx.harness import semantics

NHWC, HWIO, NCHW = (1, 3, 3, 1), (3, 3, 1, 1), (1, 1, 3, 3)


def crops(fw, args, x=NCHW, w=NCHW, op="conv_transpose"):
    g = semantics.read(fw, op, args, x, w, False).geometry
    return list(g.crops), list(g.out_size)


@pytest.mark.parametrize("fw, op, args, x, w, message", [
    ("jax", "conv_transpose", {"strides": 2, "padding": "SAME"}, NHWC, HWIO,
     "args.strides: expected a sequence of 2 integers, e.g. [2, 2] (lax takes no single integer"),
    ("jax", "conv_transpose", {"strides": [2], "padding": "SAME"}, NHWC, HWIO, "expected a sequence of 2 integers"),
    ("jax", "conv_transpose", {"strides": [2, 2], "padding": "SAME", "rhs_dilation": 2}, NHWC, HWIO,
     "args.rhs_dilation: expected a sequence of 2 integers, e.g. [1, 1]"),
    ("jax", "conv_transpose", {"strides": [2, 2], "padding": "same"}, NHWC, HWIO,
     "takes another padding word only when every stride is 1"),
    ("jax", "conv_transpose", {"strides": [1, 1], "padding": "same", "use_consistent_padding": True}, NHWC, HWIO,
     "args.padding: expected 'SAME', 'VALID' or 2 [lo, hi] pairs, got 'same'"),
    ("jax", "conv", {"window_strides": 2, "padding": "SAME"}, NCHW, NCHW, "args.window_strides: expected a sequence"),
    ("torch", "conv_transpose", {"stride": 2, "output_size": 6}, NCHW, NCHW,
     "args.output_size: expected a list of 2 (or 4) integers, e.g. [6, 6]; forward(x, output_size=...) takes no"),
    ("torch", "conv_transpose", {"stride": [2, 2, 2]}, NCHW, NCHW, "args.stride: expected an integer or a list of 2 or 1"),
    ("tf", "conv_transpose", {"output_shape": [1, 5, 5, 1], "strides": 2, "padding": [[1, 1], [1, 1]]}, NHWC, HWIO,
     "expected 'SAME', 'VALID' or 4 [before, after] pairs, the batch and channel pairs included"),
    ("tf", "conv_transpose", {"output_shape": [6], "strides": 2}, (1, 3, 1), (3, 1, 1),
     "args.output_shape: expected an integer or a list of 3 integers"),
    ("tf", "conv_transpose", {"output_shape": 6, "strides": 2}, NHWC, HWIO,
     "args.output_shape: expected the full output shape, a list of 4 integers"),
    ("tf", "conv", {"strides": 2, "padding": [[1, 0], [0, 1]]}, (1, 5, 5, 1), HWIO, "4 [before, after] pairs"),
    ("onnx", "conv_transpose", {"strides": 2}, NCHW, NCHW,
     "args.strides: expected a list of 2 integers (an ONNX INTS attribute has one value per spatial axis"),
    ("onnx", "conv_transpose", {"pads": [1, 1]}, NCHW, NCHW, "args.pads: expected a list of 4 integers"),
    ("onnx", "conv_transpose", {"output_shape": [1, 1, 6, 6], "strides": [2, 2]}, NCHW, NCHW,
     "args.output_shape: expected a list of 2 integers"),
    ("onnx", "conv_transpose", {"auto_pad": "SAME_UPPER", "pads": [0, 0, 0, 0], "strides": [2, 2]}, NCHW, NCHW,
     "pads cannot be given with auto_pad=SAME_UPPER (not even zeros"),
    ("paddle", "conv_transpose", {"stride": 2, "data_format": None}, NCHW, NCHW, "paddle refuses data_format=None"),
])
def test_a_refused_form_says_the_form_the_framework_takes(fw, op, args, x, w, message):
    with pytest.raises(semantics.ArgError) as err:
        semantics.read(fw, op, args, x, w, False)
    assert message in str(err.value)


def test_the_forms_a_framework_takes_are_read():
    assert crops("torch", {"stride": [2], "padding": [1], "output_padding": [1]}) == ([(1, 0), (1, 0)], [6, 6])
    assert crops("torch", {"stride": 2, "padding": 1, "output_size": [1, 1, 6, 6]})[1] == [6, 6]
    assert crops("tf", {"output_shape": [1, 6, 6, 1], "strides": [2]}, NHWC, HWIO)[1] == [6, 6]
    assert crops("tf", {"output_shape": [6, 6], "strides": [1, 2, 2, 1]}, NHWC, HWIO)[1] == [6, 6]  # 2-D only
    assert crops("keras", {"strides": 2, "data_format": None}, NHWC, HWIO)[1] == [7, 7]
    assert crops("keras", {"strides": 2, "data_format": "Channels_Last"}, NHWC, HWIO)[1] == [7, 7]
    # conv_general_dilated takes the padding words in any letter case
    assert crops("jax", {"window_strides": [2, 2], "padding": "same_lower"}, (1, 1, 4, 4), (1, 1, 2, 2), "conv")[0] == \
        [(0, 0), (0, 0)]


def test_jax_forward_padding_words_at_stride_1():
    """With every stride 1, lax.conv_transpose hands another word to conv_general_dilated as a *forward*
    padding of the flipped-kernel convolution: 'valid' crops K-1 at both ends (where 'VALID' crops nothing),
    'same' puts the odd pixel at the start (where 'SAME' puts it at the end)."""
    w = (2, 3, 1, 1)  # K = 2 along the first axis, 3 along the second
    assert crops("jax", {"strides": [1, 1], "padding": "valid"}, NHWC, w) == ([(1, 1), (2, 2)], [2, 1])
    assert crops("jax", {"strides": [1, 1], "padding": "VALID"}, NHWC, w)[0] == [(0, 0), (0, 0)]
    assert crops("jax", {"strides": [1, 1], "padding": "same"}, NHWC, w)[0] == [(1, 0), (1, 1)]
    assert crops("jax", {"strides": [1, 1], "padding": "SAME"}, NHWC, w)[0] == [(0, 1), (1, 1)]
    assert crops("jax", {"strides": [1, 1], "padding": "SAME_LOWER"}, NHWC, w)[0] == [(0, 1), (1, 1)]
