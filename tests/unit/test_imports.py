"""Importing convtx (and running its CLI's validate/list) never imports a framework."""

from __future__ import annotations

import subprocess
import sys

FRAMEWORKS = ("torch", "tensorflow", "keras", "jax", "jaxlib", "onnx", "onnxruntime", "paddle", "tinygrad", "flax")

PROBE = """
import sys
import convtx, convtx.harness.commands.cli, convtx.harness.caseformat.casefile, convtx.harness.engine.runner, convtx.adapters
import convtx.reports.html, convtx.reports.terminal
from convtx.harness.commands.cli import main
main(["validate", sys.argv[1]])
from convtx.adapters import load, systems
for system_id in systems():
    load(system_id).available()
loaded = sorted(m for m in sys.modules if m.split(".")[0] in %r)
print("LOADED", loaded)
""" % (FRAMEWORKS,)


def test_no_framework_is_imported(root):
    proc = subprocess.run([sys.executable, "-c", PROBE, f"{root}/cases"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout, proc.stdout
