"""Warm compilers: a run keeps JAX's compiled executables and tinygrad's kernels in the cache folder
beside the result store, and a second run (results recomputed with --refresh) compiles nothing new."""

from __future__ import annotations

import os
import subprocess
import sys

from support import ROOT
from support.frameworks import require


def _run(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "convtx.harness", "run", os.path.join(ROOT, "cases", "seeds"), "-k", "doc00",
           "--frameworks", "jax,tinygrad", "--quiet", *extra]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)


def _files(folder: str) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), folder) for d, _, files in os.walk(folder) for f in files}


def test_second_run_compiles_nothing_new(tmp_path):
    require("jax")
    require("tinygrad")
    cache = tmp_path / "cache"
    env = dict(os.environ, CONVTX_STORE=str(tmp_path / "store.sqlite"), CONVTX_CACHE_DIR=str(cache))
    first = _run(env)
    assert first.returncode == 0, first.stdout + first.stderr
    jax_entries = _files(str(cache / "jax"))
    assert any(name.endswith("-cache") for name in jax_entries), sorted(_files(str(cache)))
    assert (cache / "tinygrad.db").is_file()
    second = _run(env, "--refresh")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 result(s) from" in second.stdout  # recomputed: the workers really ran
    assert _files(str(cache / "jax")) == jax_entries  # every shape came from the persistent cache
