"""A system's own known-bug file (`System.known_bugs_file`, relative to its module; by default
`known_bugs/<id>.yaml` beside it), read by `knownbugs.load` with the shipped ones."""

from __future__ import annotations

import pytest

from convtx import adapters
from convtx.harness.core.errors import CaseError
from convtx.harness.engine import knownbugs

MODULE = """
from convtx.adapters.function_system import FunctionSystem

class Declared(FunctionSystem):
    id = "declared"
    known_bugs_file = "bugs/mine.yaml"

class Conventional(FunctionSystem):
    id = "conventional"

class Missing(FunctionSystem):
    id = "missing"
    known_bugs_file = "nowhere.yaml"
"""
ENTRY = "- {{reason: {reason}, link: 'https://example.org/{reason}', when: groups > 1}}\n"


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    (tmp_path / "ownbugs_plugin.py").write_text(MODULE, encoding="utf-8")
    (tmp_path / "bugs").mkdir()
    (tmp_path / "bugs" / "mine.yaml").write_text(ENTRY.format(reason="declared"), encoding="utf-8")
    (tmp_path / "known_bugs").mkdir()
    (tmp_path / "known_bugs" / "conventional.yaml").write_text(ENTRY.format(reason="conventional"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("Declared", "Conventional", "Missing"):
        adapters.register(name.lower(), f"ownbugs_plugin:{name}")
    yield tmp_path
    for name in ("declared", "conventional", "missing"):
        adapters.unregister(name)


def test_a_declared_file_and_the_conventional_one_are_read(plugin):
    bugs = knownbugs.load(["numpy", "declared", "conventional"])
    assert {(b.system, b.reason) for b in bugs} == {("declared", "declared"), ("conventional", "conventional")}
    assert bugs[0].where.startswith(str(plugin / "bugs" / "mine.yaml"))
    user = plugin / "user.yaml"
    user.write_text("- {reason: mine, link: 'https://example.org/u', system: declared, cases: [x]}\n", encoding="utf-8")
    assert [b.reason for b in knownbugs.load(["declared"], [str(user)])] == ["declared", "mine"]


def test_a_declared_file_that_is_missing_is_an_error(plugin):
    with pytest.raises(CaseError, match="nowhere.yaml:1:1: no such known-bug file"):
        knownbugs.load(["missing"])


def test_built_ins_are_read_once():
    assert knownbugs.own_file("onnx-ref") == f"{knownbugs.shipped_folder()}/onnx-ref.yaml"
    once = knownbugs.load(["onnx-ref"])
    assert len({b.where for b in once}) == len(once)
    assert knownbugs.own_file("no-such-system") is None
