"""The package as users get it: `python -m build` (an sdist, then the wheel built from it) gives a wheel
that, installed into a fresh venv outside the checkout, runs `convtx run` (its templates and known-bug
files are package data) and carries the console script and the pytest plugin's entry point.

Costly (a venv, and pip fetching numpy, pyyaml, jinja2 and packaging from the index): one build and
one venv for the module.  The sources are copied first, so that nothing is written into the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from support import ROOT

pytest.importorskip("build", reason="python -m build needs the 'build' package (the test extra)")

SKIP = shutil.ignore_patterns(".venv", ".git", "out", "build", "dist", "*.egg-info", "__pycache__", ".mypy_cache",
                              ".pytest_cache", ".hypothesis", "tests")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> str:
    work = tmp_path_factory.mktemp("packaging")
    src, dist = work / "convtx", work / "dist"
    shutil.copytree(ROOT, src, ignore=SKIP)
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(src)], check=True,
                   capture_output=True, timeout=600)
    (found,) = [f for f in os.listdir(dist) if f.endswith(".whl")]
    return str(dist / found)


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> str:
    env_dir = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=300)
    subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    wheel], check=True, timeout=900)
    return str(env_dir)


def test_the_wheel_holds_the_package_data_and_entry_points(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("convtx/__init__.py", "convtx/api.py", "convtx/pytest_plugin.py", "convtx/harness/commands/cli.py",
                   "convtx/adapters/function_system.py", "convtx/adapters/known_bugs/onnx-ref.yaml",
                   "convtx/reports/templates/report.html"):
        assert needed in names, needed
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "convtx = convtx.harness.commands.cli:main" in text and "[pytest11]" in text
    assert not any(n.startswith(("tests/", "cases/")) for n in names)


def test_installed_outside_the_checkout_it_runs_the_cases(venv, tmp_path):
    convtx = os.path.join(venv, "bin", "convtx")
    out_json, out_html = tmp_path / "results.json", tmp_path / "report.html"
    proc = subprocess.run([convtx, "run", os.path.join(ROOT, "cases", "seeds"), "--frameworks", "numpy,onnx-ref",
                           "--json", str(out_json), "--html", str(out_html)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out_json.read_text(encoding="utf-8"))["results"]
    assert {r["status"] for r in results if r["framework"] == "numpy"} == {"pass"}
    skipped = {r["note"] for r in results if r["framework"] == "onnx-ref"}
    assert len(skipped) == 1 and "not installed" in skipped.pop()
    assert "<html" in out_html.read_text(encoding="utf-8")[:500].lower()


PROBE = """
import os, sys, numpy as np
import convtx
from convtx.harness.engine import knownbugs
assert not os.path.abspath(convtx.__file__).startswith(sys.argv[1]), convtx.__file__
assert knownbugs.load(["onnx-ref"]), "the shipped known-bug files are missing"
y = convtx.reference(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), stride=2, padding=1, output_padding=1)
print(y.shape, convtx.translate("torch", 3, stride=2).row("jax").expressible)
"""


def test_the_python_api_works_from_the_wheel(venv, tmp_path):
    proc = subprocess.run([os.path.join(venv, "bin", "python"), "-c", PROBE, ROOT], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["(1,", "1,", "6,", "6)", "True"]
