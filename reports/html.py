"""The self-contained HTML report: what is broken first, then a compact case x framework matrix,
the systems' summary, the checks and each case's detail.

Rendered server-side with Jinja2 (autoescape on: case text is data), inline CSS and JS (from
templates/report.css and report.js), no network fetch, and deterministic for the same results (no
timestamps, sorted data).  The view models of a case (heatmaps, semantics table with each framework's
code to paste from `porting`, explanations) come from `views`; this module builds the page-level ones: the failures grouped by cause, the matrix's
folder groups and the status glyphs.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from convtx.harness.analysis.fuzz import signature
from convtx.harness.caseformat.casefile import Suite
from convtx.harness.core.files import write_atomic
from convtx.harness.engine.results import FAILING, STATUSES, Result, RunResults
from convtx.reports.views import DIVERGING_CSS, CaseView, case_view, plain_view

NONCONFORMING = (*FAILING, "invalid")  # a result that is wrong, or a case file that is
CHECK_FAILING = ("fail", "error")
GLYPHS = {"pass": "✓", "mismatch": "✗", "shape_mismatch": "≠", "error": "!", "timeout": "◷", "invalid": "?",
          "xfail": "~", "not_expressible": "–", "unsupported": "⊘", "skipped": "·"}
MEANINGS = {
    "pass": "matches the expected tensor",
    "mismatch": "wrong values",
    "shape_mismatch": "wrong output shape",
    "error": "the framework raised",
    "timeout": "took too long",
    "invalid": "the case file is malformed",
    "xfail": "a known framework bug (with link)",
    "not_expressible": "the framework cannot say this call",
    "unsupported": "this build/device refused the call in its own words (not a failure)",
    "skipped": "framework not installed",
}
# The matrix's row groups: a case's folder name -> label, in this order; anything else is "other".
FOLDERS = (("seeds", "seed documents"), ("semantics", "semantics"), ("found", "found by the fuzzer"),
           ("onnx", "ONNX's own test cases"), ("other", "user / other"))
LINES_SHOWN = 3  # per failure group; the rest behind "n more"
GROUPS_SHOWN = 6  # failure groups; the rest behind "n more causes"


@dataclass
class FailureLine:
    label: str  # the case id (or the check's name)
    href: str
    links: list[tuple[str, str]]  # (framework, deep link to its verdict)
    text: str


@dataclass
class FailureGroup:
    status: str
    cause: str
    lines: list[FailureLine] = field(default_factory=list)
    count: int = 0  # results (or checks)
    kind: str = "result"  # result | check

    @property
    def frameworks(self) -> list[str]:
        return sorted({fw for line in self.lines for fw, _ in line.links})


@dataclass
class CaseGroup:
    key: str
    label: str
    folder: str
    cases: list[CaseView]
    failing: int  # cases with a non-conforming result


def cell_link(case: str, framework: str = "") -> str:
    """The deep link to a case (and a framework's verdict in it): #case=ID&fw=FW."""
    return f"#case={quote(case, safe='')}" + (f"&fw={quote(framework, safe='')}" if framework else "")


def _headline(text: str) -> str:
    """The first line of a note or diagnosis, without a worker's last log line."""
    return text.split("; last log line:")[0].split("\n")[0].strip()


def cause(result: Result) -> str:
    """The fuzzer's signature of a failure, with the framework's own name taken out (so that one
    cause found in several frameworks is one group)."""
    if not result.framework:
        return signature(result)
    name = re.compile(rf"(?<![\w-]){re.escape(result.framework)}(?![\w-])")
    return signature(dataclasses.replace(result, diagnosis=name.sub("FW", result.diagnosis),
                                         note=name.sub("FW", result.note)))


def failure_groups(run: RunResults, frameworks: list[str]) -> list[FailureGroup]:
    """Every non-conforming result, grouped by cause (status + diagnosis with numbers removed), one
    line per case naming its frameworks; most frequent causes first within a status."""
    order = {fw: i for i, fw in enumerate(frameworks)}
    groups: dict[str, FailureGroup] = {}
    per_case: dict[tuple[str, str], FailureLine] = {}
    bad = [r for r in run.results if r.status in NONCONFORMING]
    first = {case: i for i, case in reversed(list(enumerate(r.case for r in bad)))}
    results = sorted(bad, key=lambda r: (first[r.case], order.get(r.framework, len(order))))  # cases in run order
    for r in results:
        sig = cause(r)
        group = groups.setdefault(sig, FailureGroup(r.status, _headline(r.diagnosis or r.note) or r.status))
        group.count += 1
        line = per_case.get((sig, r.case))
        if line is None:
            line = per_case[sig, r.case] = FailureLine(r.case, cell_link(r.case, r.framework), [],
                                                        _headline(r.diagnosis or r.note))
            group.lines.append(line)
        line.links.append((r.framework, cell_link(r.case, r.framework)))
    rank = {s: i for i, s in enumerate(NONCONFORMING)}
    return sorted(groups.values(), key=lambda g: (rank[g.status], -g.count, g.cause))


def check_failure_groups(checks: list[dict[str, Any]]) -> list[FailureGroup]:
    """The failed mathematical checks, grouped the same way, each line linking to its row."""
    groups: dict[str, FailureGroup] = {}
    for i, c in enumerate(checks):
        if c.get("status") not in CHECK_FAILING:
            continue
        status, detail = str(c["status"]), str(c.get("detail", ""))
        sig = cause(Result(str(c.get("check", "")), str(c.get("framework", "")), status, note=detail))
        group = groups.setdefault(sig, FailureGroup(status, _headline(detail) or status, kind="check"))
        group.count += 1
        href = f"#check={i}"
        group.lines.append(FailureLine(str(c.get("check", "")), href, [(str(c.get("framework", "")), href)],
                                       _headline(detail)))
    return sorted(groups.values(), key=lambda g: (g.status, -g.count, g.cause))


def _folder_parts(path: str) -> list[str]:
    return os.path.normpath(os.path.dirname(path)).split(os.sep) if path else []


def folder_of(path: str) -> str:
    """The matrix group of a case file: the nearest enclosing folder named like one of FOLDERS."""
    known = {key for key, _ in FOLDERS if key != "other"}
    return next((part for part in reversed(_folder_parts(path)) if part in known), "other")


def case_groups(cases: list[CaseView], paths: dict[str, str]) -> list[CaseGroup]:
    """The cases by folder (seed documents, semantics, found, onnx, then the rest), each in its order."""
    out = []
    for key, label in FOLDERS:
        members = [c for c in cases if folder_of(paths.get(c.id, "")) == key]
        if not members:
            continue
        folder = ""
        if key != "other":  # e.g. "cases/seeds"
            parts = _folder_parts(paths[members[0].id])
            at = len(parts) - 1 - parts[::-1].index(key)
            folder = "/".join(parts[max(at - 1, 0):at + 1])
        failing = sum(any(r.status in NONCONFORMING for r in c.results.values()) for c in members)
        out.append(CaseGroup(key, label, folder, members, failing))
    return out


def cell_title(framework: str, result: Result | None, limit: int = 240) -> str:
    if result is None:
        return f"{framework}: no result"
    note = _headline(result.diagnosis or result.note)
    note = note if len(note) <= limit else note[:limit - 1] + "…"
    return f"{framework}: {result.status}" + (f" - {note}" if note else "")


def build_context(run: RunResults, suite: Suite | None) -> dict[str, Any]:
    frameworks = list(run.frameworks) or sorted({r.framework for r in run.results})
    by_case: dict[str, dict[str, Result]] = {}
    for res in run.results:
        by_case.setdefault(res.case, {})[res.framework] = res
    entries = {e.case.id: e for e in suite.entries} if suite else {}
    paths = {cid: e.case.path for cid, e in entries.items()}
    for err in suite.errors if suite else []:
        if err.mark:
            paths.setdefault(err.case_id or err.mark.path, err.mark.path)
    cases = [case_view(entries[cid], results) if cid in entries else plain_view(cid, results)
             for cid, results in by_case.items()]
    cases.sort(key=lambda c: "doc-example" not in c.tags)  # the documents' examples first, then file order
    counts = run.counts()
    used = [s for s in STATUSES if any(s in row for row in counts.values())]
    environment = {fw: run.environment.get(fw, {}) for fw in frameworks}
    bad = [r for r in run.results if r.status in NONCONFORMING]
    checks_failed = [c for c in run.checks if c.get("status") in CHECK_FAILING]
    check_counts = {s: n for s in ("pass", "fail", "error", "xfail", "unsupported", "not_expressible", "skipped")
                    if (n := sum(c.get("status") == s for c in run.checks))}
    from convtx.harness.analysis.divergence import divergences
    return {"run": run, "divergences": divergences(run), "frameworks": frameworks, "cases": cases,
            "groups": case_groups(cases, paths),
            "counts": counts, "statuses": used, "all_statuses": STATUSES, "nonconforming": NONCONFORMING,
            "tags": sorted({t for c in cases for t in c.tags}), "n_failing": len(bad),
            "n_failing_cases": len({r.case for r in bad}), "environment": environment,
            "crashes": run.environment.get("crashes", []), "failures": failure_groups(run, frameworks),
            "check_failures": check_failure_groups(run.checks), "n_checks_failed": len(checks_failed),
            "check_counts": check_counts, "glyphs": GLYPHS, "meanings": MEANINGS, "lines_shown": LINES_SHOWN,
            "groups_shown": GROUPS_SHOWN, "status_totals": {s: sum(row.get(s, 0) for row in counts.values()) for s in STATUSES},
            "cell_link": cell_link, "cell_title": cell_title, "diverging_css": DIVERGING_CSS,
            "refused": [r for r in run.results if r.status == "unsupported"]}


def render(run: RunResults, suite: Suite | None) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("convtx.reports", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html").render(**build_context(run, suite))


def write_report(path: str, run: RunResults, suite: Suite | None) -> None:
    write_atomic(path, render(run, suite))
