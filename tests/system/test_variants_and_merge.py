"""Environments as an axis: system variants (`id[variant]`), shards that merge into the whole run,
the divergence view, JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from convtx import adapters
from convtx.harness.caseformat.casefile import load_suite
from convtx.harness.engine.runner import RunOptions, in_shard, run_suite
from support.fault_system import PATH

CASES = "".join(
    f"- {{id: c{i}, framework: torch, input: [[[{i}, 2]]], weight: [[[1, 1]]], expected: [[[{i}, {i + 2}, 2]]]}}\n"
    for i in range(1, 7))


@pytest.fixture(autouse=True)
def faulty():
    adapters.register("faulty", PATH)
    yield
    adapters.unregister("faulty")


def test_a_variant_is_a_system_of_its_own():
    system = adapters.load("faulty[fake-gpu,off-by-one]")
    assert system.id == "faulty[fake-gpu,off-by-one]" and system.device == "fake"
    assert system.options == {"off-by-one"} and adapters.split_id(system.id) == ("faulty", ("fake-gpu", "off-by-one"))
    with pytest.raises(KeyError, match="has no variant nope"):
        adapters.load("faulty[nope]")


def test_the_device_switch_takes_the_same_path_and_a_missing_device_is_skipped(write_case):
    suite = load_suite([write_case(CASES)])
    run = run_suite(suite, ["faulty[fake-gpu]", "faulty[cuda]"], opts=RunOptions(timeout=30))
    by = {fw: [r for r in run.results if r.framework == fw] for fw in run.frameworks}
    assert {r.status for r in by["faulty[fake-gpu]"]} == {"pass"}
    assert run.environment["faulty[fake-gpu]"]["device"] == "fake"
    assert {r.status for r in by["faulty[cuda]"]} == {"skipped"}
    assert "no CUDA device here" in by["faulty[cuda]"][0].note


def test_unknown_variants_are_usage_errors(cli, write_case):
    code, _, err = cli("run", write_case(CASES), "--frameworks", "faulty[nope]")
    assert code == 2 and "faulty has no variant nope (its variants: fake-gpu, cuda, off-by-one)" in err


def test_shards_merge_into_the_whole_run_with_the_divergences(cli, write_case, tmp_path):
    path, systems = write_case(CASES), "numpy,faulty,faulty[off-by-one]"
    whole, parts = tmp_path / "whole.json", [tmp_path / "s1.json", tmp_path / "s2.json"]
    assert cli("run", path, "--frameworks", systems, "--json", str(whole))[0] == 1
    for i, part in enumerate(parts, 1):
        cli("run", path, "--frameworks", systems, "--shard", f"{i}/2", "--json", str(part))
    merged, junit = tmp_path / "m.json", tmp_path / "m.xml"
    code, out, _ = cli("merge", *map(str, parts), "--json", str(merged), "--junit", str(junit))
    assert code == 1 and "DIVERGES  c1 [faulty]: faulty pass (max error 0), faulty[off-by-one] mismatch (max error 1)" in out
    cells = lambda p: {(r["case"], r["framework"]): r["status"] for r in json.loads(p.read_text())["results"]}  # noqa: E731
    assert cells(merged) == cells(whole) and len(cells(whole)) == 18
    data = json.loads(merged.read_text())
    assert len(data["divergences"]) == 6 and data["suite"] == json.loads(whole.read_text())["suite"]
    suites = ET.parse(junit).getroot().findall("testsuite")
    assert {s.get("name") for s in suites} == {"numpy", "faulty", "faulty[off-by-one]"}
    assert sum(int(s.get("failures")) for s in suites) == 6


def test_merge_refuses_other_suites_and_overlaps(cli, write_case, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    cli("run", write_case(CASES, "one.yaml"), "--frameworks", "numpy", "--json", str(a))
    cli("run", write_case(CASES.replace("c6", "c7"), "two.yaml"), "--frameworks", "numpy", "--json", str(b))
    code, _, err = cli("merge", str(a), str(b))
    assert code == 2 and "different suites" in err
    code, _, err = cli("merge", str(a), str(a))
    assert code == 2 and "shards must not overlap" in err


def test_labels_make_columns_and_shards_are_stable():
    assert in_shard("c1", "tf", (1, 2)) != in_shard("c1", "tf", (2, 2))
    assert sum(in_shard(f"c{i}", "torch", (1, 3)) for i in range(300)) in range(70, 130)
