"""tinygrad's 'bad reshape: () -> ...' known bug on the real tinygrad: new cases inside it are xfail, beside it pass."""

from __future__ import annotations

from convtx.harness.engine import knownbugs
from support.frameworks import require

# torch terms; measured on tinygrad 0.14.0 (CPU, clang)
CASES = """
- id: my-hole-row-dilated-width
  framework: torch
  args: {stride: [3, 1], padding: [1, 0], dilation: [1, 2]}
  input: {shape: [2, 2, 2, 4], random: 1}
  weight: {shape: [2, 3, 1, 2], random: 2}
  bias: {shape: [3], random: 3}
  expected: {shape: [2, 3, 2, 6]}
- id: my-hole-row-undilated-width
  framework: torch
  args: {stride: [3, 1], padding: [1, 0]}
  input: {shape: [2, 2, 2, 4], random: 1}
  weight: {shape: [2, 3, 1, 2], random: 2}
  expected: {shape: [2, 3, 2, 5]}
- id: my-hole-column-dilated-height
  framework: torch
  args: {stride: [1, 2], padding: [0, 1], dilation: [2, 1]}
  input: {shape: [1, 1, 4, 2], random: 4}
  weight: {shape: [1, 1, 2, 1], random: 5}
  expected: {shape: [1, 1, 6, 1]}
"""


def test_tinygrad_bad_reshape_is_xfail_inside_the_condition_and_passes_beside_it(write_case):
    from convtx.harness.caseformat.casefile import load_suite
    from convtx.harness.engine.runner import RunOptions, run_suite
    require("tinygrad")
    suite = load_suite([write_case(CASES)])
    assert not suite.errors, suite.errors
    systems = ["numpy", "tinygrad"]
    run = run_suite(suite, systems, opts=RunOptions(known_bugs=knownbugs.load(systems)))
    got = {(r.case, r.framework): r for r in run.results}
    bug = got[("my-hole-row-dilated-width", "tinygrad")]
    assert bug.status == "xfail" and "bad reshape" in bug.note, (bug.status, bug.note)
    for case in ("my-hole-row-undilated-width", "my-hole-column-dilated-height"):
        res = got[(case, "tinygrad")]
        assert res.status == "pass" and not res.note.startswith("XPASS"), (case, res.status, res.note)
