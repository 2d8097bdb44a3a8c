"""A third-party system, installed as its own package (tests/support/example_system: `numpyish`, a
NumPy transposed convolution in torch's meaning, deliberately wrong for groups > 1, with its own
known-bug file), takes part in `convtx run` like a built-in one: its cells pass, its known bug reads
xfail with its link, and it is listed in `--frameworks` help and in the HTML report.

pip builds and installs the package for real (`--no-build-isolation`: the venv's setuptools), into
a folder of its own put on the subprocesses' PYTHONPATH rather than into the shared venv, so that no
other test running meanwhile sees a system it does not expect (and nothing is left to uninstall).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from support import ROOT, TESTS

EXAMPLE = os.path.join(TESTS, "support", "example_system")
BUG_LINK = "https://example.org/numpyish/issues/1"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> str:
    work = tmp_path_factory.mktemp("third-party")
    src = work / "convtx-example-system"
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = work / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(src)], check=True, timeout=300)
    return str(target)


def convtx(site: str, *args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": site}
    return subprocess.run([sys.executable, "-m", "convtx.harness", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_an_installed_system_runs_with_its_own_known_bugs(site, tmp_path):
    cases = [os.path.join(ROOT, "cases", "seeds"), os.path.join(ROOT, "cases", "semantics", "torch-groups-bias.yaml")]
    out_json, out_html = tmp_path / "results.json", tmp_path / "report.html"
    proc = convtx(site, "run", *cases, "--frameworks", "numpy,numpyish", "--json", str(out_json),
                  "--html", str(out_html), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["frameworks"]["numpyish"] == "0.2.0"
    mine = {r["case"]: r for r in data["results"] if r["framework"] == "numpyish"}
    statuses = {r["status"] for r in mine.values()}
    assert statuses <= {"pass", "not_expressible", "xfail"}, [r for r in mine.values() if r["status"] not in
                                                              ("pass", "not_expressible", "xfail")]
    assert sum(r["status"] == "pass" for r in mine.values()) >= 20
    grouped = mine["sem-torch-groups-bias"]
    assert grouped["status"] == "xfail" and BUG_LINK in grouped["note"], grouped
    assert grouped["call"].startswith("conv_transpose(x, w, groups=2, stride=2, padding=1)")
    assert [r for r in mine.values() if r["status"] == "xfail"] == [grouped]
    html = out_html.read_text(encoding="utf-8")
    assert "numpyish" in html and BUG_LINK in html


def test_it_is_listed_among_the_frameworks(site, tmp_path):
    proc = convtx(site, "run", "--help", cwd=tmp_path)
    assert proc.returncode == 0 and "numpyish" in proc.stdout.replace("\n", " "), proc.stdout


def test_a_declared_known_bug_file_must_exist(site, tmp_path):
    """The xfail above comes from the package's own file (NumpyishSystem.known_bugs_file); a system that
    declares a file it does not ship is told so (exit 2, one line), never silently left without it."""
    case = os.path.join(ROOT, "cases", "semantics", "torch-groups-bias.yaml")
    os.remove(os.path.join(site, "convtx_example_system", "known_bugs.yaml"))
    try:
        proc = convtx(site, "run", case, "--frameworks", "numpyish", cwd=tmp_path)
        assert proc.returncode == 2 and "known_bugs.yaml:1:1: no such known-bug file" in proc.stderr, proc.stderr
    finally:
        shutil.copy(os.path.join(EXAMPLE, "convtx_example_system", "known_bugs.yaml"),
                    os.path.join(site, "convtx_example_system", "known_bugs.yaml"))
