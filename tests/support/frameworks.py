"""Helpers for tests that need a real framework: skipped locally when missing, failed in CI."""

from __future__ import annotations

import os

import pytest

from convtx.adapters import load


def require(adapter_id: str) -> None:
    if not load(adapter_id).available():
        if os.environ.get("CI"):
            pytest.fail(f"{adapter_id} is not installed in CI (make test installs '.[all]')")
        pytest.skip(f"{adapter_id} not installed")
