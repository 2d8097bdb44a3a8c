"""The HTML report without a browser: deterministic, escaped, self-contained; and the terminal summary."""

from __future__ import annotations

import os

from convtx.harness.caseformat.casefile import load_suite
from convtx.harness.engine.results import read_json, write_json
from convtx.harness.engine.runner import run_suite
from convtx.reports.html import render
from convtx.reports.terminal import render_summary
from support import ROOT



def _run():
    suite = load_suite([os.path.join(ROOT, "cases", "seeds")])
    return suite, run_suite(suite, ["numpy"])


def test_same_results_render_the_same_bytes(tmp_path):
    suite, run = _run()
    first = render(run, suite)
    path = tmp_path / "r.json"
    write_json(str(path), run)
    assert render(read_json(str(path)), suite) == first


def test_self_contained(tmp_path):
    suite, run = _run()
    html = render(run, suite)
    for needle in ("http://", "https://", "<link", "src=\"http", "@import"):
        assert needle not in html


def test_explanations_are_embedded_safely(write_case):
    case = """
id: tricky
title: "</script><script>alert(1)</script>"
framework: torch
input: [[[1, 2]]]
weight: [[[1, 1]]]
expected: [[[1, 3, 2]]]
"""
    suite = load_suite([write_case(case)])
    html = render(run_suite(suite, ["numpy"]), suite)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script") == 2  # the explanation data block and the report's script


def test_terminal_summary_counts():
    _, run = _run()
    text = render_summary(run)
    assert "numpy" in text and text.rstrip().endswith("all conform")


def test_unsupported_cells_are_shown_apart_from_failures():
    """A build's refusal is counted, coloured and listed on its own, and does not fail the run."""
    from convtx.harness.engine.results import Result
    suite, run = _run()
    case = suite.entries[0].case.id
    refusal = ("tf has no kernel for this call in this build/device (its own refusal): InvalidArgumentError: "
               "Current CPU implementations do not yet support dilation rates larger than 1.")
    run.results.append(Result(case, "tf", "unsupported", note=refusal, call="tf.nn.conv2d_transpose(x, w, ...)"))
    run.frameworks["tf"] = "2.21.0"
    run.environment["tf"] = {"onednn": False}
    assert not run.failing()
    html = render(run, suite)
    assert 'id="unsupported-list"' in html and "Current CPU implementations do not yet support" in html
    assert '<th class="unsupported">unsupported</th>' in html
    text = render_summary(run)
    assert "unsupported (refused by this build/device, not failures): 1 (tf: " + case in text
    assert text.rstrip().endswith("all conform")
