"""The HTML report without a browser: deterministic, escaped, self-contained; and the terminal summary."""

from __future__ import annotations

import os

from convtx.harness.caseformat.casefile import load_suite
from convtx.harness.engine.results import read_json, write_json
from convtx.harness.engine.runner import run_suite
from convtx.reports.html import build_context, failure_groups, folder_of, render
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
    """Nothing is fetched: no stylesheet, import, image or script from elsewhere.  The only outside
    addresses are links a person may follow: the known-bug links of the code's hazard notes."""
    import re
    suite, run = _run()
    html = render(run, suite)
    for needle in ("<link", "@import", "url(", "<img", "<iframe", "src="):
        assert needle not in html
    outside = re.findall(r'<(\w+)\b[^>]*\b(?:src|href|data|poster|action)="(?:https?:)?//', html)
    assert outside and set(outside) == {"a"}
    hazard_links = re.findall(r'<div class="hazard">[^<]*\(<a href="(https?://[^"]+)"', html)
    assert sorted(set(re.findall(r'href="(https?://[^"]+)"', html))) == sorted(set(hazard_links))


def test_each_framework_row_carries_the_code_translate_prints():
    """One writer: every valid case's row per framework embeds `snippets.snippet`'s code (and alternative),
    escaped, in a collapsed <details> with a copy button; a row no native arguments say tells why."""
    import markupsafe
    from convtx.harness import semantics
    from convtx.harness.analysis import snippets
    from convtx.harness.analysis.translate import rows_for
    suite, run = _run()
    html = render(run, suite)
    n = 0
    for entry in suite.entries:
        if entry.reading is None:
            continue
        printed = {r.framework: r for r in rows_for(entry.understood, entry.case.framework, dict(entry.case.args))}
        for fw in semantics.FRAMEWORKS:
            said = snippets.snippet(fw, entry.understood, fw == entry.case.framework)
            assert said is not None and (said.code, said.alternative) == (printed[fw].code, printed[fw].alternative)
            for text in filter(None, (said.code, said.alternative)):
                assert f'<button type="button" class="copy">copy</button><pre class="snippet">{markupsafe.escape(text)}</pre>' in html
                n += 1
            for hazard in said.hazards:
                assert str(markupsafe.escape("HAZARD " + hazard.text().removesuffix(f" ({hazard.link})"))) in html
    assert n >= 6 * len(suite.entries) - 6
    case = html.split('id="case-doc000-k3-s2-p1-op1"')[1].split("</table>")[0]
    keras = case.split('<tr data-fw="keras"')[1].split("</tr>")[0]
    assert 'class="s-not_expressible"' in keras and "not expressible: crop [(1, 0), (1, 0)] is neither" in keras
    assert '<details class="snippet" data-fw="keras">' in keras and "native call + NumPy: crop of the full output" in keras
    assert "<details class=\"snippet\" data-fw=\"torch\" open" not in html  # collapsed


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
    assert '<th class="unsupported"><a href="#matrix" data-filter-status="unsupported"' in html
    assert 'id="failures" class="ok"' in html  # a refusal is not a failure
    text = render_summary(run)
    assert "unsupported (refused by this build/device, not failures): 1 (tf: " + case in text
    assert text.rstrip().endswith("all conform")


def _failing_run():
    """The seeds through numpy, plus made-up failures: one cause in two frameworks, another cause,
    and a failed check among passing ones."""
    from convtx.harness.engine.results import Result
    suite, run = _run()
    a, b = suite.entries[0].case.id, suite.entries[1].case.id
    for fw in ("torch", "jax"):
        run.frameworks[fw] = "1.0"
        run.results.append(Result(a, fw, "mismatch", note="Mismatched elements: 3 / 9; greatest absolute difference: 4",
                                  diagnosis=f"{fw} output is the full output cropped (0, 1) instead of (1, 0)"))
    run.results.append(Result(b, "torch", "mismatch", note="Mismatched elements: 1 / 4; greatest absolute difference: 2",
                              diagnosis="torch output is the full output cropped (1, 1) instead of (0, 0)"))
    run.results.append(Result(b, "jax", "error", note="RuntimeError: boom / traceback"))
    run.checks = [{"check": f"adjoint-{i}", "framework": "numpy", "status": "pass", "detail": "ok"} for i in range(9)]
    run.checks.append({"check": "adjoint-9", "framework": "torch", "status": "fail", "detail": "1.5 != 1.25"})
    return suite, run, a, b


def test_failures_are_grouped_by_cause_one_line_per_case():
    suite, run, a, b = _failing_run()
    groups = failure_groups(run, list(run.frameworks))
    assert [(g.status, g.count, [line.label for line in g.lines]) for g in groups] == [
        ("mismatch", 3, [a, b]), ("error", 1, [b])]
    first = groups[0].lines[0]
    assert first.links == [("torch", f"#case={a}&fw=torch"), ("jax", f"#case={a}&fw=jax")]
    assert groups[0].frameworks == ["jax", "torch"]


def test_failures_view_first_checks_collapsed_and_counted():
    suite, run, a, b = _failing_run()
    html = render(run, suite)
    assert html.index('id="failures"') < html.index('id="matrix"') < html.index('id="checks-details"')
    assert '<details id="checks-details">' in html  # collapsed, even with a failed check
    assert 'href="#check=9"' in html and 'id="check-9"' in html
    assert "10 check(s)</a>:" in html and "1 failed</a>" in html
    assert '<option value="failure">any failure</option>' in html
    assert f'href="#case={a}&amp;fw=jax"' in html
    context = build_context(run, suite)
    assert context["n_failing"] == 4 and context["n_failing_cases"] == 2 and context["n_checks_failed"] == 1


def test_matrix_cells_are_glyphs_with_the_status_in_the_title():
    suite, run, a, b = _failing_run()
    html = render(run, suite)
    assert f'title="jax: error - RuntimeError: boom / traceback"><a href="#case={b}&amp;fw=jax">!</a>' in html
    assert ">not_expressible<" not in html.split('id="matrix"')[1].split("</table>")[0]
    assert [g.key for g in build_context(run, suite)["groups"]] == ["seeds"]


def test_folders_group_the_matrix():
    assert folder_of(os.path.join("cases", "seeds", "doc000.yaml")) == "seeds"
    assert folder_of("/abs/cases/semantics/x.yaml") == "semantics"
    assert folder_of("cases/found/sub/x.yaml") == "found"
    assert folder_of("/home/me/my-cases/x.yaml") == "other" and folder_of("") == "other"


def test_difference_maps_diverge_around_zero():
    from convtx.reports.views import _color
    neg, zero, pos = _color(-12, 12, diff=True), _color(0, 12, diff=True), _color(12, 12, diff=True)
    assert neg != pos and zero.startswith("background:rgb(255,255,255)")
    rgb = [tuple(int(v) for v in c.split("rgb(")[1].split(")")[0].split(",")) for c in (neg, pos)]
    assert rgb[0][2] > rgb[0][0] and rgb[1][0] > rgb[1][2]  # blue below zero, red above
    half = [_color(v, 12, diff=True) for v in (-6, 6)]
    assert half[0] != half[1]


def test_identical_outputs_are_drawn_once():
    import numpy as np
    from convtx.harness.engine.results import Result
    from convtx.reports.views import output_views
    suite, run = _run()
    entry = next(e for e in suite.entries if e.case.expected.kind == "tensor")
    ref = next(r for r in run.results if r.case == entry.case.id)
    wrong = (np.asarray(ref.output) * -1).tolist()
    other = (np.asarray(ref.output) + 1).tolist()
    results = {"numpy": ref, **{fw: Result(entry.case.id, fw, "mismatch", output=wrong) for fw in ("torch", "jax", "tf")},
               "paddle": Result(entry.case.id, "paddle", "mismatch", output=other)}
    views = output_views(entry, results)
    assert [v.name for v in views] == ["expected output", "torch, jax, tf output", "torch, jax, tf - expected",
                                       "paddle output", "paddle - expected"]
    assert views[1].note == "torch, jax, tf: identical" and views[3].note == ""
    assert views[2].kind == "diff" and views[2].scale
