"""`convtx watch` for real: the first run computes, an added case is computed on the warm worker (the
store line says the system was warm, not started), a broken file is one positioned line on stderr
while the watch goes on, an edited known-bug file given with --known-bugs is a re-run too, and
Ctrl-C ends it with exit 0, its workers gone."""

from __future__ import annotations

import os
import shutil
import time

from convtx.harness.commands.bench_runs import WatchProcess
from support import ROOT, TESTS
from support.frameworks import require

NEW_CASE = """- id: watch-new-case
  title: added while watching
  framework: torch
  args: {stride: 2, padding: 1}
  input: {shape: [1, 1, 3, 3], random: 5}
  weight: {shape: [1, 2, 3, 3], random: 6}
  expected: {shape: [1, 2, 5, 5]}
"""

BUG = """- system: torch
  reason: {reason}
  link: https://github.com/pytorch/pytorch/issues
  cases: [no-such-case-*]
"""


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


def test_watch_reruns_changes_on_warm_workers(tmp_path):
    require("torch")
    cases = tmp_path / "cases"
    cases.mkdir()
    for name in ("doc000-torch-ones.yaml", "doc001-stackoverflow.yaml"):
        shutil.copy(os.path.join(ROOT, "cases", "seeds", name), cases / name)
    bugs = tmp_path / "my-bugs.yaml"  # a user's known-bug file: watched too
    bugs.write_text(BUG.format(reason="first"), encoding="utf-8")
    watch = WatchProcess([str(cases), "--frameworks", "numpy,torch", "--known-bugs", str(bugs)],
                         dict(os.environ, PYTHONPATH=TESTS, NO_COLOR="1"))
    try:
        first = watch.until("watch: run 1 done")
        assert any("computed; systems started:" in ln and "torch" in ln for ln in first), first
        watch.until("worker(s) warm")
        workers = _children(watch.proc.pid)
        assert workers, "the kept torch worker is a child of the watch"
        (cases / "new.yaml").write_text(NEW_CASE, encoding="utf-8")
        second = watch.until("watch: run 2 done")
        store = next(ln for ln in second if ln.startswith("store:"))
        assert ", 2 computed; systems started: none; warm: " in store and "torch" in store, second
        assert any(ln.endswith("all conform") for ln in second), second
        assert all(_alive(pid) for pid in workers), "the same worker served the second run"
        (cases / "broken.yaml").write_text("- id: x\n  framework: torch\n  args: {stride: [1,}\n", encoding="utf-8")
        third = watch.until("watch: run 3 done")
        assert any("broken.yaml:" in ln and "Traceback" not in ln for ln in third), third
        assert any("1 invalid case(s)" in ln for ln in third), third
        bugs.write_text(BUG.format(reason="second"), encoding="utf-8")
        assert any("my-bugs.yaml" in ln for ln in watch.until("watch: run 4 done")), watch.seen
    finally:
        code = watch.stop()
    watch.until("watch: stopped", timeout=10)
    assert code == 0
    time.sleep(1)
    assert not any(_alive(pid) for pid in workers), "no worker outlives the watch"
