"""convtx fuzz --range: configuration i is a pure function of (seed, i), and slices of a campaign add up
to the whole campaign's findings; bad --range/--executor arguments are one-line usage errors (exit 2).

Systems here run in-process (the NumPy reference and `Skewed`, defined below): no process is spawned.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from convtx import adapters
from convtx.harness.analysis import fuzzgen
from convtx.harness.analysis.fuzz import Finding, findings_of, fuzz
from convtx.harness.engine.runner import RunOptions
from support.fault_system import FaultySystem


class Skewed(FaultySystem):
    """In-process and wrong in two ways: no 3-D kernels (an error), and one too many with a bias (a mismatch)."""

    id = "skewed"
    capabilities = frozenset({"in_process"})

    def call(self, op, args, x, w, b, dtype, device="cpu"):
        if np.ndim(x) == 5:
            raise RuntimeError("no 3-D kernel on this build")
        return super().call(op, args, x, w, b, dtype, device) + (1.0 if b is not None else 0.0)


@pytest.fixture
def skewed():
    adapters.register("skewed", f"{__name__}:Skewed")
    yield "skewed"
    adapters.unregister("skewed")


def test_configuration_i_depends_only_on_seed_and_i():
    whole = fuzzgen.generate(40, seed=9)
    assert [e.case.id for _, e in whole] == [f"fuzz-9-{i}" for i in range(40)]
    tail = fuzzgen.generate_range(9, 25, 40)
    assert [(c, e.case.id) for c, e in tail] == [(c, e.case.id) for c, e in whole[25:]]
    for i in (0, 7, 31):
        config, entry = fuzzgen.configuration(9, i)
        assert config == whole[i][0] and entry.case.id == f"fuzz-9-{i}"
        assert np.array_equal(entry.case.expected.spec.materialize("float64"),
                              whole[i][1].case.expected.spec.materialize("float64"))
    assert fuzzgen.configuration(10, 7)[0] != whole[7][0]


def test_a_family_fills_one_slot_per_dialect():
    size = fuzzgen.family_size()
    generated = fuzzgen.generate(3 * size, seed=4)
    for f in range(3):
        members = generated[f * size:(f + 1) * size]
        spoken = {c.respell or c.dialect for c, _ in members}
        assert spoken == set(fuzzgen.drawn_dialects())
        base = members[0][0]
        for config, entry in members:  # the family's meaning, or a configuration of the slot's dialect's own
            if config.respell:
                assert entry.reading.geometry == members[0][1].reading.geometry
            else:
                assert config == base or config.dialect != base.dialect


def _summary(findings: list[Finding]) -> dict[tuple[str, str], tuple[int, str]]:
    return {(f.framework, f.signature): (f.count, f.result.case) for f in findings}


def _merged(parts: list[list[Finding]]) -> dict[tuple[str, str], tuple[int, str]]:
    """Slices' findings as one campaign's: counts added, the first configuration the earliest slice's."""
    out: dict[tuple[str, str], tuple[int, str]] = {}
    for findings in parts:
        for key, (count, first) in _summary(findings).items():
            before = out.get(key)
            out[key] = (before[0] + count, before[1]) if before else (count, first)
    return out


def test_ranges_add_up_to_the_whole_campaign(skewed):
    systems = ["numpy", skewed]
    whole_generated, whole, _ = fuzz(200, 7, systems, opts=RunOptions())
    parts = []
    counts: dict[str, dict[str, int]] = {}
    for start in (0, 100):
        generated, run, _ = fuzz(100, 7, systems, opts=RunOptions(), start=start)
        parts.append(findings_of(generated, run))
        for fw, row in run.counts().items():
            for status, n in row.items():
                counts.setdefault(fw, {}).setdefault(status, 0)
                counts[fw][status] += n
    findings = findings_of(whole_generated, whole)
    assert {f.framework for f in findings} == {skewed} and len(findings) >= 2
    assert _merged(parts) == _summary(findings)
    assert counts == whole.counts()


def test_range_on_the_command_line(cli, tmp_path):
    out = tmp_path / "fuzz.json"
    code, text, err = cli("fuzz", "--range", "6:12", "--seed", "3", "--frameworks", "numpy", "--no-shrink",
                          "--json", str(out))
    data = json.loads(out.read_text())
    assert code == 0 and (data["range"], data["n"], data["counts"]) == ([6, 12], 6, {"numpy": {"pass": 6}}), text + err
    assert "range 6:12 of seed 3" in text


@pytest.mark.parametrize("args, message", [
    (["--range", "5"], "--range: expected A:B"),
    (["--range", "4:4"], "--range: expected A:B"),
    (["--range", "9:2"], "--range: expected A:B"),
    (["--range=-1:3"], "--range: expected A:B"),
    (["--range", "a:b"], "--range: expected A:B"),
    (["--range", "0:5", "--n", "5"], "--n and --range"),
    (["--n", "0"], "--n must be >= 1"),
    (["--seed", "-3"], "--seed must be >= 0"),
    (["--address", "10.0.0.1:6379"], "--address is the Ray cluster's"),
])
def test_bad_campaign_arguments_are_one_line(cli, args, message):
    code, text, err = cli("fuzz", "--frameworks", "numpy", "--no-shrink", *args)
    assert code == 2 and text == "", text
    assert err.count("\n") == 1 and message in err, err


def test_ray_executor_without_ray(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if it were not installed
    code, text, err = cli("fuzz", "--frameworks", "numpy", "--n", "3", "--executor", "ray")
    assert code == 2 and text == ""
    assert err == "convtx fuzz: ray is not installed (pip install '.[ray]')\n"
