"""`convtx bench`: the figures' structure and verdicts (never their speed: no timing is asserted)."""

from __future__ import annotations

import argparse
import json
import math

import pytest

from convtx.harness.commands import bench, bench_layers
from convtx.harness.commands.bench_layers import Figure, Layer, judge
from convtx.harness.core.problem import Axis, Geometry

TINY = Layer("tiny 4->2 5x5 k3s2p1", Geometry("conv_transpose", 1, 4, 2, 1, (5, 5), (3, 3), (Axis(2, 1, 1, 1),) * 2))
TARGETS = {"<= 2.0", "<= 1.25", ">= 50", "< 0.3 s", "<= 3.0", ">= 20", "report"}


def _check_json_figure(item: dict) -> None:
    assert set(item) == {"name", "value", "target", "met"}
    assert isinstance(item["name"], str) and item["name"]
    assert item["target"] in TARGETS
    assert item["value"] is None or (isinstance(item["value"], float) and math.isfinite(item["value"]))
    assert item["met"] in (True, False, None)
    if item["value"] is None or item["target"] == "report":
        assert item["met"] is None
    else:
        assert item["met"] is judge(item["value"], item["target"])


def test_judge_reads_the_target_strings():
    assert judge(1.99, "<= 2.0") is True and judge(2.01, "<= 2.0") is False
    assert judge(50.0, ">= 50") is True and judge(49.9, ">= 50") is False
    assert judge(0.29, "< 0.3 s") is True and judge(0.3, "< 0.3 s") is False
    assert judge(None, "<= 2.0") is None and judge(123.0, "report") is None


def test_quick_layer_figures_of_one_tiny_layer(tmp_path):
    figures = bench_layers.layer_figures([TINY], quick=True, rounds=1)
    names = [f.name for f in figures]
    assert names == [f"{TINY.name}: reference f64 / torch f32", f"{TINY.name}: reference f32 / torch f32",
                     f"{TINY.name}: ONNX reference evaluator / reference f64",
                     "reference f64 / torch f32 (median layer)", "reference f32 / torch f32 (median layer)",
                     "ONNX reference evaluator / reference f64 (median layer)"]
    assert [f.target for f in figures] == ["<= 2.0", "<= 1.25", ">= 50", "<= 2.0", "<= 1.25", ">= 50"]
    for per_layer, summary in zip(figures[:3], figures[3:]):
        assert summary.value == per_layer.value  # the median of one layer is that layer
        if per_layer.value is None:
            assert per_layer.detail.startswith("not measured")
        else:
            assert per_layer.value > 0 and " vs " in per_layer.detail  # a ratio, with both times beside it
    path = tmp_path / "figures.json"
    bench.write_figures(str(path), figures)
    items = json.loads(path.read_text())
    assert [i["name"] for i in items] == names
    for item in items:
        _check_json_figure(item)
    table = bench.format_table(figures)
    assert all(name in table for name in names)


def test_unmeasurable_figures_are_null_not_faked(tmp_path, monkeypatch):
    fuzz = bench.fuzz_figure(available=False)
    assert (fuzz.value, fuzz.met, fuzz.target) == (None, None, ">= 20")
    assert fuzz.detail == "not measured: convtx fuzz not available"
    monkeypatch.chdir(tmp_path)  # no cases/ here: the whole run cannot be measured
    whole = bench.whole_run_figures()
    assert [f.value for f in whole] == [None, None] and all(f.detail.startswith("not measured") for f in whole)
    for item in [f.to_json() for f in [fuzz, *whole]]:
        _check_json_figure(item)


def test_cli_import_figure_is_a_number_with_a_verdict():
    (figure,) = bench.import_figures(repeat=1)
    assert figure.name == "import convtx.harness.commands.cli (s)" and figure.target == "< 0.3 s"
    assert isinstance(figure.value, float) and figure.met in (True, False)


def test_parser_and_quick_collect_end_to_end(tmp_path, monkeypatch, capsys):
    parser = argparse.ArgumentParser(prog="convtx")
    bench.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", "--quick", "--json", str(tmp_path / "b.json")])
    assert args.quick and args.json.endswith("b.json")
    monkeypatch.setattr(bench, "layer_suite", lambda quick=False: [TINY])
    assert bench.run(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("machine: ") and "BLAS" in out
    items = json.loads((tmp_path / "b.json").read_text())
    for item in items:
        _check_json_figure(item)
    by_name = {i["name"]: i for i in items}
    assert by_name["whole run / slowest framework import"]["value"] is None  # --quick skips the whole run
    assert by_name["fuzz throughput (configurations/s)"]["met"] is None


@pytest.mark.parametrize("value, target, met", [(1.0, "<= 2.0", True), (3.0, "<= 2.0", False), (None, ">= 50", None)])
def test_figure_computes_met(value, target, met):
    assert Figure("x", value, target).met is met
