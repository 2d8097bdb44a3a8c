"""`convtx merge`: shards and runs from other machines or environments as one set of results.

Shards of one run (`run --shard i/n`) union into the unsharded run's cells.  Runs with different
labels (`run --label`) become columns `system@label`.  Every file must be of the same suite (its
fingerprint): merging results of different cases is refused.  The divergence view (the same case and
system with another verdict in another environment) is printed, written to the JSON
(`divergences`) and shown in the HTML report.
"""

from __future__ import annotations

import json

from convtx.harness.analysis.divergence import divergences
from convtx.harness.core.errors import UsageError
from convtx.harness.core.files import write_atomic
from convtx.harness.engine.results import Result, RunResults, read_json


def add_parser(sub) -> None:
    p = sub.add_parser("merge", help="merge result files (shards, other machines, other environments)")
    p.add_argument("results", nargs="+", help="JSON files written by `convtx run --json`")
    p.add_argument("--json", metavar="FILE", help="write the merged results")
    p.add_argument("--html", metavar="FILE", help="write the report of the merged results")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML")
    p.add_argument("--cases", nargs="*", default=["cases"], metavar="PATH", help="the cases, for the report")


def merge(runs: list[RunResults]) -> RunResults:
    suites = {r.suite for r in runs}
    if len(suites) > 1:
        raise UsageError(f"these results are of different suites (fingerprints {', '.join(sorted(suites))}): "
                         "merge runs of the same cases only")
    labels = {r.label for r in runs}
    out = RunResults(suite=runs[0].suite, label=" + ".join(sorted(labels - {""})),
                     partial=any(r.partial for r in runs))
    seen: set[tuple[str, str]] = set()
    for run in runs:
        rename = (lambda s: f"{s}@{run.label}") if len(labels) > 1 and run.label else (lambda s: s)
        for system, version in run.frameworks.items():
            out.frameworks[rename(system)] = version
            out.environment[rename(system)] = run.environment.get(system, {})
        for r in run.results:
            column = rename(r.framework)
            if (r.case, column) in seen:
                raise UsageError(f"{r.case} on {column} is in two of these files: shards must not overlap "
                                 "(label runs of other environments with --label)")
            seen.add((r.case, column))
            out.results.append(Result(**{**r.to_json(), "framework": column}))
        out.checks += run.checks
    out.results.sort(key=lambda r: (r.case, r.framework))
    return out


def run(args) -> int:
    try:
        runs = [read_json(path) for path in args.results]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UsageError(f"cannot read results: {err}") from None
    merged = merge(runs)
    found = divergences(merged)
    for d in found:
        print(f"DIVERGES  {d.case} [{d.system}]: " + ", ".join(f"{col} {v}" for col, v in d.verdicts.items()))
    print(f"merged {len(runs)} file(s): {len({r.case for r in merged.results})} case(s), "
          f"{len(merged.results)} result(s), {len(found)} divergence(s)")
    _write(args, merged, found)
    return 1 if merged.failing() else 0


def _write(args, merged: RunResults, found) -> None:
    if args.json:
        data = merged.to_json()
        data["divergences"] = [d.to_json() for d in found]
        write_atomic(args.json, json.dumps(data, indent=1, allow_nan=True) + "\n")
        print(f"results: {args.json}")
    if args.junit:
        from convtx.reports.junit import junit_xml
        write_atomic(args.junit, junit_xml(merged))
        print(f"junit: {args.junit}")
    if args.html:
        from convtx.harness.caseformat.casefile import load_suite
        from convtx.reports import html
        html.write_report(args.html, merged, load_suite(args.cases))
        print(f"report: {args.html}")
