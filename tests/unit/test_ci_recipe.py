"""The CI recipe is documentation: it parses, and every command it runs is one the README documents."""

from __future__ import annotations

import os
import re

import yaml

from support import ROOT


def test_the_workflow_parses_and_uses_readme_commands():
    with open(os.path.join(ROOT, ".github", "workflows", "conformance.yml"), encoding="utf-8") as fh:
        workflow = yaml.safe_load(fh)
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    runs = [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    assert any("--shard" in r for r in runs) and any("convtx merge" in r for r in runs)
    for run in runs:
        command = run.split("||")[0].strip()
        words = re.findall(r"convtx \w+|make \w+|--[a-z-]+", command)
        for word in words:
            assert word in readme, f"{word!r} (from {command!r}) is not in the README"
    assert workflow["jobs"]["merge"]["needs"] == "shard"
