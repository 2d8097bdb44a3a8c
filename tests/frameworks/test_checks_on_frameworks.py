"""The mathematical checks through every installed framework (all of them in CI), under both oneDNN settings."""

from __future__ import annotations

import pytest

from convtx.harness.analysis.checks import check_ids
from support.frameworks import require


@pytest.mark.parametrize("onednn", ["1", "0"])
def test_framework_checks(onednn):
    """Whatever this build refuses is `unsupported` (its own words), a known bug `xfail`: never fail/error."""
    from convtx.harness.analysis.framework_checks import all_checks
    names = ["numpy", "torch", "keras", "tf", "jax", "onnxruntime", "onnx-ref"] if onednn == "1" else ["keras", "tf"]
    for fw in names:
        require(fw)
    results = all_checks(names, worker_env={"TF_ENABLE_ONEDNN_OPTS": onednn})
    bad = [r for r in results if r.status in ("fail", "error")]
    assert not bad, "\n".join(f"{r.check} {r.framework}: {r.detail}" for r in bad)
    passed = {(r.check.split("-")[0], r.framework) for r in results if r.status == "pass"}
    for fw in {"torch", "jax", "tf"} & set(names):
        assert ("gradient", fw) in passed and ("adjoint", fw) in passed
    assert all(r.check in check_ids() or r.check == "gradient" for r in results)
