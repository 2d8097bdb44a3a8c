"""The command line: exit codes, the JSON results' shape, explain, list, new."""

from __future__ import annotations

import json
import os

import yaml

GOOD = """
id: good
framework: torch
args: {stride: 2, padding: 1, output_padding: 1}
input: {shape: [1, 1, 3, 3], fill: 1}
weight: {shape: [1, 1, 3, 3], fill: 1}
expected: {shape: [1, 1, 6, 6]}
"""

WRONG_VALUES = """
id: wrong
framework: torch
input: [[[1, 2]]]
weight: [[[1, 1]]]
expected: [[[1, 3, 3]]]
"""

BAD = """
id: bad
framework: torch
args: {stride: 2}
input: [[[1, 2]]]
weight: [[[1, 1]]]
expected: [[[1, 3, 3]]]
tolerence: {rtol: 0}
"""


def test_run_exit_0_and_json_shape(cli, write_case, tmp_path):
    path = write_case(GOOD)
    out_json = tmp_path / "r.json"
    code, out, err = cli("run", path, "--frameworks", "numpy", "--json", str(out_json))
    assert code == 0, out + err
    data = json.loads(out_json.read_text())
    assert set(data) >= {"frameworks", "results"} and data["frameworks"]["numpy"]
    (result,) = data["results"]
    assert set(result) >= {"case", "framework", "status", "shape", "expected_shape", "max_abs_error", "call", "note"}
    assert result["status"] == "pass" and result["shape"] == [1, 1, 6, 6] == result["expected_shape"]


def test_run_exit_1_on_mismatch_with_values_in_the_message(cli, write_case):
    code, out, _ = cli("run", write_case(WRONG_VALUES), "--frameworks", "numpy")
    assert code == 1
    assert "MISMATCH" in out and "Mismatched elements: 1 / 3 (33.3%)" in out
    assert "got 2, expected 3" in out


def test_run_exit_2_on_invalid_case_but_valid_cases_still_run(cli, write_case, tmp_path):
    good, bad = write_case(GOOD, "a.yaml"), write_case(BAD, "b.yaml")
    out_json = tmp_path / "r.json"
    code, out, err = cli("run", good, bad, "--frameworks", "numpy", "--json", str(out_json))
    assert code == 2
    line = err.strip().splitlines()[0]
    assert line.startswith(f"{bad}:8:1: case 'bad': tolerence: unknown key 'tolerence' (did you mean 'tolerance'?")
    statuses = {r["case"]: r["status"] for r in json.loads(out_json.read_text())["results"]}
    assert statuses == {"good": "pass", "bad": "invalid"}


def test_usage_errors_exit_2(cli, write_case):
    code, _, err = cli("run", write_case(GOOD), "--frameworks", "nosuch")
    assert code == 2 and "unknown nosuch" in err
    code, _, err = cli("explain", "nosuch", "--at", "0", "--cases", write_case(GOOD))
    assert code == 2 and "no case with id 'nosuch'" in err


def test_validate(cli, write_case):
    assert cli("validate", write_case(GOOD))[0] == 0
    code, _, err = cli("validate", write_case(BAD))
    assert code == 2 and "tolerence" in err and "Traceback" not in err


def test_explain_document_001(cli, root):
    seeds = os.path.join(root, "cases", "seeds")
    code, out, _ = cli("explain", "doc001-k4-s2-p1-arange", "--at", "0,0,0,0", "--cases", seeds)
    assert code == 0 and out.startswith("out[0,0,0,0] = 6") and "(1 x 6 = 6)" in out and "1 term" in out
    code, out, _ = cli("explain", "doc001-k4-s2-p1-arange", "--at", "0,0,0,1", "--cases", seeds, "--json")
    data = json.loads(out)
    assert data["value"] == 12 and sorted(t["product"] for t in data["terms"]) == [5, 7]


def test_explain_rejects_an_index_outside_the_output(cli, root):
    code, _, err = cli("explain", "doc001-k4-s2-p1-arange", "--at", "0,0,8,0",
                       "--cases", os.path.join(root, "cases", "seeds"))
    assert code == 2 and "[1, 1, 8, 8]" in err


def test_list(cli, root):
    code, out, _ = cli("list", os.path.join(root, "cases", "seeds"), "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) >= 29 and {"id", "framework", "op", "output"} <= set(rows[0])


def test_new_shows_then_writes_a_valid_case(cli, tmp_path):
    target = tmp_path / "mine.yaml"
    code, out, err = cli("new", "--id", "mine", "--framework", "torch", "--arg", "stride=2", "--arg", "padding=1",
                         "--input", "{shape: [1, 1, 2, 2], arange: 1}", "--weight", "[[[[1, 1], [1, 1]]]]",
                         "--out", str(target))
    assert code == 0, err
    assert out.index("expected:") < out.index(f"wrote {target}")
    data = yaml.safe_load(target.read_text())
    assert data["expected"] == [[[[1, 2], [3, 4]]]]
    assert cli("validate", str(target))[0] == 0
    code, _, err = cli("new", "--id", "mine", "--framework", "torch", "--input", "[[[1]]]", "--weight", "[[[1]]]",
                       "--out", str(target))
    assert code == 2 and "exists" in err


def test_new_refuses_an_invalid_call(cli, tmp_path):
    code, _, err = cli("new", "--id", "x", "--framework", "torch", "--arg", "output_padding=3", "--arg", "stride=2",
                       "--input", "[[[1, 2]]]", "--weight", "[[[1, 1]]]", "--dry-run")
    assert code == 2 and "must be smaller than either stride" in err


def test_module_entry_point(root):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "convtx.harness", "list", os.path.join(root, "cases", "seeds")],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "doc000-k3-s1-p0-op0" in proc.stdout
