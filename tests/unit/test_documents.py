"""Every example of the seed documents is a case, and each passes on the NumPy reference."""

from __future__ import annotations

import os

import pytest

from convtx.harness.core import reference
from convtx.harness.caseformat.casefile import load_suite
from convtx.harness.engine.runner import run_suite
from support import ROOT

DOCS = ("000_808dae4cd76c449c.txt", "001_5a8f13bc6db025fe.txt", "002_f91f0f173503f260.txt",
        "003_a1a28aa2c6b6998b.txt", "004_f949678755a03846.txt")


@pytest.fixture(scope="module")
def suite():
    root = ROOT
    return load_suite([os.path.join(root, "cases", "seeds")])


def test_seed_cases_are_valid(suite):
    assert suite.errors == []
    assert len(suite.entries) >= 29


def test_every_document_is_covered(suite):
    documents = {e.case.source.document for e in suite.entries}
    assert documents == set(DOCS)
    counts = {d: sum(e.case.source.document == d for e in suite.entries) for d in DOCS}
    assert counts["000_808dae4cd76c449c.txt"] >= 6 and counts["001_5a8f13bc6db025fe.txt"] >= 6
    assert counts["003_a1a28aa2c6b6998b.txt"] >= 9 and counts["004_f949678755a03846.txt"] >= 4


def test_every_seed_case_passes_on_the_reference(suite):
    failures = [r for r in run_suite(suite, ["numpy"]).results if r.status != "pass"]
    assert not failures, "\n".join(f"{r.case}: {r.status}: {r.note}" for r in failures)


def test_doc_error_case_is_declared_invalid(suite):
    entry = next(e for e in suite.entries if e.case.id == "doc001-2x2-s2-p2-as-written")
    assert entry.refusal is not None and "no output" in str(entry.refusal)


def test_hand_checkable_values(suite):
    """A few values anyone can check on paper, straight from the documents."""
    by_id = {e.case.id: e for e in suite.entries}
    from convtx.harness.engine.verdict import problem_of
    out = reference.compute(problem_of(by_id["doc001-k4-s2-p1-arange"]))
    assert out.shape == (1, 1, 8, 8) and out[0, 0, 0, 0] == 6 and out[0, 0, 0, 1] == 12
    out = reference.compute(problem_of(by_id["doc004-ones3-p2"]))
    assert out.tolist() == [[[[17.0]]]]
    out = reference.compute(problem_of(by_id["doc003-keras-tconv-same-s1"]))
    assert out[0, 0].tolist() == [[323, 319], [264, 326]]
