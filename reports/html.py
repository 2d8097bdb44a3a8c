"""The self-contained HTML report: summary, case x framework matrix, and per-case detail.

Rendered server-side with Jinja2 (autoescape on: case text is data), inline CSS and JS, no
network fetch, and deterministic for the same results (no timestamps, sorted data).  The view
models (heatmaps, semantics table, explanations) come from `views`.
"""

from __future__ import annotations

from typing import Any

from convtx.harness.caseformat.casefile import Suite
from convtx.harness.core.files import write_atomic
from convtx.harness.engine.results import STATUSES, Result, RunResults
from convtx.reports.views import case_view, plain_view


def build_context(run: RunResults, suite: Suite | None) -> dict[str, Any]:
    frameworks = list(run.frameworks) or sorted({r.framework for r in run.results})
    by_case: dict[str, dict[str, Result]] = {}
    for res in run.results:
        by_case.setdefault(res.case, {})[res.framework] = res
    entries = {e.case.id: e for e in suite.entries} if suite else {}
    cases = [case_view(entries[cid], results) if cid in entries else plain_view(cid, results)
             for cid, results in by_case.items()]
    cases.sort(key=lambda c: "doc-example" not in c.tags)  # the documents' examples first, then file order
    counts = run.counts()
    used = [s for s in STATUSES if any(s in row for row in counts.values())]
    environment = {fw: run.environment.get(fw, {}) for fw in frameworks}
    return {"run": run, "frameworks": frameworks, "cases": cases, "counts": counts, "statuses": used,
            "all_statuses": STATUSES, "tags": sorted({t for c in cases for t in c.tags}),
            "n_failing": len(run.failing()), "environment": environment,
            "crashes": run.environment.get("crashes", [])}


def render(run: RunResults, suite: Suite | None) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("convtx.reports", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html").render(**build_context(run, suite))


def write_report(path: str, run: RunResults, suite: Suite | None) -> None:
    write_atomic(path, render(run, suite))
