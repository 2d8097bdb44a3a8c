"""Reverse semantics: each framework's arguments found for a canonical problem, the weight
conversion text, and the `convtx translate` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convtx.harness import semantics
from convtx.harness.core.problem import Axis, Geometry

G = Geometry("conv_transpose", 1, 2, 3, 1, (3, 4), (3, 2), (Axis(2, 1, 1, 0), Axis(1, 1, 0, 0)))


@pytest.mark.parametrize("framework", ["torch", "tf", "jax", "onnx"])
def test_express_reads_back_to_the_same_geometry(framework):
    reading = semantics.express(framework, G)
    assert not isinstance(reading, semantics.NotExpressible), reading
    assert reading.geometry == G


@pytest.mark.parametrize("framework", ["torch", "keras", "tf", "jax", "onnx"])
def test_weight_conversion_text_is_what_the_code_does(framework):
    g = Geometry("conv_transpose", 1, 2, 3, 1, (3, 4), (3, 2), (Axis(2, 1, 0, 0), Axis(1, 1, 0, 0)))
    reading = semantics.express(framework, g)
    w = np.arange(np.prod(g.weight_shape), dtype=float).reshape(g.weight_shape)
    text = reading.weight_conversion()
    converted = w if text.startswith("as is") else eval(text, {"np": np, "w": w})
    np.testing.assert_array_equal(converted, reading.from_canonical_weight(w))
    np.testing.assert_array_equal(reading.to_canonical_weight(converted), w)


def test_keras_cannot_crop_more_at_the_start():
    result = semantics.express("keras", G)
    assert isinstance(result, semantics.NotExpressible) and "'same'" in result.reason


def test_translate_command(cli):
    code, out, _ = cli("translate", "--from", "torch", "--kernel", "3", "--stride", "2", "--padding", "1",
                       "--output-padding", "1", "--input-size", "3")
    assert code == 0
    assert "nn.ConvTranspose2d(1, 1, [3, 3], stride=2, padding=1, output_padding=1, bias=False)" in out
    assert "lax.conv_transpose(x, w, strides=(2, 2), padding=((1, 2), (1, 2)))" in out
    assert "shifted by [-1, -1]" in out
    code, out, _ = cli("translate", "--from", "keras", "--kernel", "3", "--strides", "2", "--padding", "same", "--json")
    data = json.loads(out)
    rows = {r["framework"]: r for r in data["rows"]}
    assert rows["torch"]["expressible"] is False and rows["keras"]["crops"] == [[0, 1], [0, 1]]
    assert rows["tf"]["expressible"] and rows["jax"]["call"].startswith("lax.conv_transpose")


def test_translate_rejects_unknown_arguments(cli):
    code, _, err = cli("translate", "--from", "torch", "--kernel", "3", "--strides", "2")
    assert code == 2 and "no argument 'strides'" in err
