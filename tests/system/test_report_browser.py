"""The HTML report in a real headless Chromium (Debian's /usr/bin/chromium through playwright).

Skipped locally when chromium or playwright is missing; in CI (CI=true) that is a failure.
"""

from __future__ import annotations

import os

import pytest

from convtx.harness.caseformat.casefile import load_suite
from convtx.harness.engine.runner import run_suite
from convtx.reports.html import write_report
from support import ROOT

CHROMIUM = "/usr/bin/chromium"
HOSTILE = """
- id: hostile-title
  title: "<script>alert('pwned')</script> & <b>bold</b>"
  notes: "</details><img src=x onerror=alert(1)> & more"
  framework: torch
  args: {stride: 2, padding: 1}
  input: {shape: [1, 1, 4, 4], fill: 1}
  weight: {shape: [1, 1, 4, 4], arange: 1}
  expected: {shape: [1, 1, 8, 8]}
- id: wrong-on-purpose
  title: a case whose expected values are wrong
  framework: torch
  input: [[[1, 2]]]
  weight: [[[1, 1]]]
  expected: [[[1, 3, 3]]]
"""


def _browser():
    if not os.path.exists(CHROMIUM):
        reason = f"{CHROMIUM} not installed (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
            return None
        except ImportError:
            reason = "playwright not installed (pip install '.[test]')"
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def report(tmp_path_factory, request):
    _browser()
    root = ROOT
    folder = tmp_path_factory.mktemp("report")
    (folder / "hostile.yaml").write_text(HOSTILE, encoding="utf-8")
    (folder / "broken.yaml").write_text("id: broken\nframework: torch\ninput: [[[1]]\n", encoding="utf-8")
    suite = load_suite([os.path.join(root, "cases", "seeds"), str(folder)])
    run = run_suite(suite, ["numpy"])
    path = folder / "report.html"
    write_report(str(path), run, suite)
    return path, run


def test_report_in_chromium(report, tmp_path):
    from playwright.sync_api import sync_playwright

    path, run = report
    problems, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("dialog", lambda d: (problems.append(f"dialog opened: {d.message}"), d.dismiss()))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())

        cases = {r.case for r in run.results}
        assert page.locator("#matrix tr.row").count() == len(cases)
        assert page.locator("#f-count").inner_text() == f"{len(cases)} case(s) shown"

        page.select_option("#f-status", "mismatch")
        visible = page.locator("#matrix tr.row:visible")
        assert visible.count() == 1 and visible.first.get_attribute("data-case") == "wrong-on-purpose"
        page.select_option("#f-status", "invalid")
        assert page.locator("#matrix tr.row:visible").count() == 1
        page.select_option("#f-status", "")
        page.fill("#f-text", "doc001")
        assert page.locator("#matrix tr.row:visible").count() == 6
        page.fill("#f-text", "")

        page.click("#matrix a[href='#case-doc001-k4-s2-p1-arange']")
        case = page.locator("#case-doc001-k4-s2-p1-arange")
        assert case.get_attribute("open") is not None
        case.locator("td.out[data-index='0,0,0,1']").first.click()
        explanation = case.locator("pre.explain").inner_text()
        assert explanation.startswith("out[0,0,0,1] = 12") and "(1 x 5 = 5)" in explanation and "(1 x 7 = 7)" in explanation
        case.locator("td.out[data-index='0,0,0,0']").first.click()
        assert "(1 x 6 = 6)" in case.locator("pre.explain").inner_text()

        hostile = page.locator("#case-hostile-title")
        hostile.locator("summary").click()
        assert "<script>alert('pwned')</script> & <b>bold</b>" in hostile.locator("summary .title").inner_text()
        assert "<img src=x onerror=alert(1)>" in hostile.locator("p.note").inner_text()
        assert page.locator("script:not([class])").count() == 1  # only the report's own script
        page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        shot_dir = os.environ.get("CONVTX_SCREENSHOTS")
        if shot_dir:
            os.makedirs(shot_dir, exist_ok=True)
            page.screenshot(path=os.path.join(shot_dir, "report.png"))
        browser.close()
    assert not problems, problems
    assert all(url.startswith("file://") for url in requests), requests
    assert (tmp_path / "report.png").stat().st_size > 10_000
