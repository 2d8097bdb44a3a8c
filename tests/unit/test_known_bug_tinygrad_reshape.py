"""tinygrad's 'bad reshape: () -> ...' known bug: the entry's condition against calls measured on tinygrad 0.14.0."""

from __future__ import annotations

import os

import pytest

from convtx.harness import semantics
from convtx.harness.engine import knownbugs

ERROR = "ValueError: bad reshape: () -> (6, 2) [Tensor(x).conv_transpose2d(Tensor(w), stride=[2, 1], ...)]"


def entry() -> knownbugs.KnownBug:
    (bug,) = [b for b in knownbugs.load(["tinygrad"]) if "bad reshape" in (b.error or "")]
    return bug


def facts(axes, batch=1, c_in=1, c_out=1):
    """axes: per axis (input size, stride, kernel, dilation, torch padding), first axis first."""
    x = (batch, c_in) + tuple(a[0] for a in axes)
    w = (c_in, c_out) + tuple(a[2] for a in axes)
    args = {"stride": [a[1] for a in axes], "dilation": [a[3] for a in axes], "padding": [a[4] for a in axes]}
    reading = semantics.read("torch", "conv_transpose", args, x, w, False, None)
    return knownbugs.CellFacts("some-new-case", "tinygrad", reading.geometry, dict(reading.args))


# failed on tinygrad 0.14.0 (CPU, clang) with "bad reshape: () -> ..."
FAILED = [
    [(2, 2, 1, 1, 1), (4, 1, 2, 2, 0)],   # the shrunk fuzz finding: row 1 of 3 is a stride hole; 6 wide, d 2
    [(2, 3, 1, 1, 1), (2, 1, 2, 2, 0)],   # stride 3 on the hole axis (the original finding's)
    [(2, 2, 1, 1, 1), (2, 2, 3, 2, 1)],   # stride on the last axis too
    [(2, 4, 2, 1, 2), (2, 1, 2, 2, 1)],   # kernel 2 on the hole axis: rows 2 and 3 fall between 0-1 and 4-5
    [(2, 5, 2, 2, 3), (2, 1, 2, 2, 1)],   # dilation on the hole axis
]
# computed correctly by tinygrad 0.14.0
PASSED_OUTSIDE = [
    [(4, 1, 2, 2, 0), (2, 2, 1, 1, 1)],   # the hole axis last: computes
    [(2, 2, 1, 1, 1), (4, 1, 2, 1, 0)],   # no dilation on the last axis
    [(2, 2, 1, 1, 0), (4, 1, 2, 2, 0)],   # padding 0: rows 0 and 2 take input, not all holes
    [(1, 1, 2, 3, 1), (4, 2, 2, 2, 0)],   # holes from the dilation, stride 1 on that axis
    [(2, 2, 1, 1, 1), (8, 1, 2, 2, 0)],   # 10 wide
]


@pytest.mark.parametrize("axes", FAILED)
def test_every_measured_failure_is_explained(axes):
    assert entry().explains(facts(axes), ERROR)


@pytest.mark.parametrize("axes", PASSED_OUTSIDE)
def test_measured_passes_outside_the_condition_are_not_described(axes):
    assert not entry().describes(facts(axes))


def test_batch_and_channels_do_not_matter_and_another_error_is_not_this_bug():
    bug = entry()
    assert bug.explains(facts(FAILED[0], batch=3, c_in=2, c_out=4), ERROR)
    assert not bug.explains(facts(FAILED[0]), "RuntimeError: something else")


def test_the_found_case_is_described():
    from convtx.harness.caseformat.casefile import load_suite
    suite = load_suite([os.path.join(os.path.dirname(__file__), "..", "..", "cases", "found",
                                     "tinygrad-stride-holes-dilated-last-axis.yaml")])
    assert not suite.errors, suite.errors
    (entry_,) = [e for e in suite.entries if e.case.id == "tinygrad-stride-holes-dilated-last-axis"]
    reading = entry_.understood
    assert entry().explains(knownbugs.CellFacts(entry_.case.id, "tinygrad", reading.geometry, dict(reading.args)), ERROR)
