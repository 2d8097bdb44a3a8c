"""Reverse semantics: each framework's arguments found for a canonical problem, the weight
conversion text, and the `convtx translate` command."""

from __future__ import annotations

import ast
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
    assert "torch.nn.ConvTranspose2d(1, 1, (3, 3), stride=2, padding=1, output_padding=1, bias=False" in out
    assert "layer.weight.copy_(torch.from_numpy(w))" in out  # the weight is set, not said in a comment
    assert "lax.conv_transpose(xt, wt, strides=(2, 2), padding=((1, 2), (1, 2)))" in out
    assert "shifted by [-1, -1]" in out
    code, out, _ = cli("translate", "--from", "keras", "--kernel", "3", "--strides", "2", "--padding", "same", "--json")
    data = json.loads(out)
    rows = {r["framework"]: r for r in data["rows"]}
    assert {"framework", "native_args", "code", "output_shape", "crop", "hazards", "naive_port"} <= set(rows["torch"])
    assert rows["torch"]["expressible"] is False and rows["keras"]["crop"] == [[0, 1], [0, 1]]
    assert rows["tf"]["expressible"] and "lax.conv_transpose(" in rows["jax"]["code"]
    assert rows["torch"]["output_shape"] == [1, 6, 6, 1] and data["output_shape"] == [1, 6, 6, 1]


def test_translate_rejects_unknown_arguments(cli):
    code, _, err = cli("translate", "--from", "torch", "--kernel", "3", "--strides", "2")
    assert code == 2 and "no argument 'strides'" in err


def test_translate_refuses_what_the_framework_refuses(cli):
    code, _, err = cli("translate", "--from", "jax", "--kernel", "3", "--strides", "2", "--padding", "SAME")
    assert code == 2 and "args.strides: expected a sequence of 2 integers, e.g. [2, 2]" in err


def _rows(source, kernel, size=3, **args):
    from convtx.api import translate
    return {r.framework: r for r in translate(source, kernel, size, **args).rows}


def test_every_row_has_code_that_parses_and_ends_in_y():
    for source, args in (("torch", {"stride": 2, "padding": 1, "output_padding": 1}),
                         ("keras", {"strides": 2, "padding": "same"}), ("tf", {"strides": 2, "output_shape": [1, 5, 5, 1]}),
                         ("jax", {"strides": [2, 2], "padding": [[0, 3], [1, 1]]}),
                         ("onnx", {"strides": [2, 2], "auto_pad": "SAME_LOWER"}), ("paddle", {"stride": 3, "padding": "SAME"})):
        for fw, row in _rows(source, 3, **args).items():
            tree = ast.parse(row.code)
            assert any(isinstance(n, ast.Name) and n.id == "y" and isinstance(n.ctx, ast.Store) for n in ast.walk(tree)), fw
            assert row.output_shape and row.native_args is not None, fw


def test_a_crop_no_argument_says_is_the_full_output_sliced():
    torch = _rows("keras", 3, strides=2, padding="same")["torch"]
    assert not torch.expressible and torch.native_args == {"stride": 2}
    assert "x.transpose(0, 3, 1, 2)" in torch.code and "w.transpose(3, 2, 0, 1)" in torch.code  # from Keras's layouts
    assert "y = y[:, 0:6, 0:6]  # crop [(0, 1), (0, 1)] of the full output (7x7)" in torch.code
    assert torch.weight_conversion == ""  # only an expressible row has one conversion to name
    zeros = _rows("jax", [2], 3, strides=[2], padding=[[3, 1]])["torch"]  # crop (-2, 0): zeros at the start
    assert "y = np.pad(y, [(0, 0), (2, 0), (0, 0)])  # zeros where the crop is negative" in zeros.code
    assert "y = y[" not in zeros.code


def test_weights_are_converted_from_the_source_layout():
    rows = _rows("keras", 3, strides=2, padding="valid")
    assert rows["torch"].weight_conversion == "w.transpose(3, 2, 0, 1)"
    assert rows["jax"].weight_conversion == "np.flip(w, axis=(0, 1)).transpose(0, 1, 3, 2)"
    assert rows["keras"].weight_conversion == "as is (keras layout)"


def test_a_known_bug_is_a_hazard_with_its_link_and_a_way_around():
    keras = _rows("torch", 4, 5, stride=2, padding=2)["keras"]
    (bug,) = [h for h in keras.hazards if h["kind"] == "known_bug"]
    assert bug["system"] == "keras" and bug["link"].startswith("https://github.com/tensorflow/tensorflow/issues/")
    assert keras.native_args == {"strides": [2, 2], "padding": "same", "output_padding": [0, 0]}
    assert keras.alternative_args == {"strides": [2, 2], "padding": "valid"}
    assert "y = y[:, :, 2:10, 2:10]" in keras.alternative


def test_groups_and_strided_dilation_get_code_where_the_api_has_none():
    rows = _rows("torch", 3, 4, stride=2, padding=1, groups=2, in_channels=4, out_channels=2)
    assert "def one_group(x, w):" in rows["keras"].code and "range(2)" in rows["keras"].code
    assert "lax.conv_general_dilated(" in rows["jax"].code and "feature_group_count=2" in rows["jax"].code
    keras = _rows("torch", 3, 4, stride=2, dilation=2)["keras"]
    assert "wd[:, :, ::2, ::2] = w" in keras.code or "wd[::2, ::2" in keras.code


def test_your_own_known_bugs_are_hazards_too(cli, tmp_path):
    bugs = tmp_path / "mine.yaml"
    bugs.write_text("- {system: paddle, reason: a pretend bug, link: 'https://example.org/7', when: \"op == 'conv_transpose'\"}\n")
    code, out, _ = cli("translate", "--from", "torch", "--kernel", "3", "--stride", "2", "--known-bugs", str(bugs), "--json")
    paddle = {r["framework"]: r for r in json.loads(out)["rows"]}["paddle"]
    assert code == 0 and [h["reason"] for h in paddle["hazards"]] == ["a pretend bug"]


def test_traps_are_the_mistakes_people_make():
    torch = _rows("keras", 3, strides=2, padding="same")["torch"]
    first = torch.traps[0]
    assert first["args"]["padding"] == [1, 1] and first["args"]["output_padding"] == [1, 1]
    assert "same 6x6 size, shifted by [1, 1]" in first["note"] and torch.naive_port == first["note"]
    back = _rows("torch", 3, stride=2, padding=1, output_padding=1)
    assert "naive port keras(padding='same', output_padding=[1, 1]): same 6x6 size" in back["keras"].naive_port
    assert any("output_shape off by -1" in t["note"] and "5x5" in t["note"] for t in back["tf"].traps)
    assert any(t["args"].get("auto_pad") == "SAME_UPPER" and "shifted" in t["note"] for t in back["onnx"].traps)
    assert "naive port jax(padding=[[1, 1], [1, 1]]): output 5x5" in back["jax"].naive_port
