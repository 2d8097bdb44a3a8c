"""Shared fixtures: paths into the repository and a helper to run the CLI in-process."""

from __future__ import annotations

import pytest

from support import ROOT


@pytest.fixture(autouse=True)
def own_store(tmp_path_factory, monkeypatch):
    """Every test gets a result store and compilation caches of its own: a `convtx run` in a test computes
    its verdicts (never reads a developer's .convtx/store.sqlite, nor another test's results)."""
    folder = tmp_path_factory.mktemp("store")
    monkeypatch.setenv("CONVTX_STORE", str(folder / "store.sqlite"))
    monkeypatch.setenv("CONVTX_CACHE_DIR", str(folder / "cache"))


@pytest.fixture
def root() -> str:
    return ROOT


@pytest.fixture
def cli(capsys):
    """Run `convtx ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from convtx.harness.commands.cli import main

    def run(*args: str):
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def write_case(tmp_path):
    """Write YAML text to a file in a temporary folder and return its path."""
    def write(text: str, name: str = "case.yaml") -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)
    return write
