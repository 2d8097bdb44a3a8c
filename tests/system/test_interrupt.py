"""An interrupted run (SIGTERM, Ctrl-C) still writes the results it has, marked partial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from support import TESTS

DRIVER = """
import sys
from convtx import adapters
adapters.register("faulty", "support.fault_system:FaultySystem")
from convtx.harness.commands.cli import main
sys.exit(main(sys.argv[1:]))
"""

CASES = """
- {id: a-ok, framework: torch, input: [[[1, 2]]], weight: [[[1, 1]]], expected: [[[1, 3, 2]]]}
- {id: b-hangs, framework: torch, input: [[[102, 2]]], weight: [[[1, 1]]], expected: [[[102, 104, 2]]]}
- {id: c-never-reached, framework: torch, input: [[[3, 4]]], weight: [[[1, 1]]], expected: [[[3, 7, 4]]]}
"""


def test_sigterm_writes_partial_results(tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text(CASES)
    out = tmp_path / "results.json"
    html = tmp_path / "report.html"
    env = dict(os.environ, PYTHONPATH=TESTS)
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, "run", str(cases), "--frameworks", "numpy,faulty",
                             "--json", str(out), "--html", str(html), "--timeout", "600"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 60
    time.sleep(4)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=max(5, deadline - time.time()))
    assert proc.returncode == 130, stderr
    assert "partial" in stderr and "PARTIAL" in stdout
    data = json.loads(out.read_text())
    assert data["partial"] is True
    got = {(r["case"], r["framework"]): r["status"] for r in data["results"]}
    assert got[("a-ok", "numpy")] == "pass" and got[("a-ok", "faulty")] == "pass"
    assert ("c-never-reached", "faulty") not in got
    assert "PARTIAL" in html.read_text()
