"""The `convtx` command line: run, validate, list, new, explain, report.

Exit codes: 0 nothing unexpected failed; 1 some case does not conform; 2 invalid input or usage.
Bad input is reported as one line per problem (`path:line:col: case 'id': field: ...`), never a
traceback, and valid cases still run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys

from convtx.harness.commands.options import add_known_bugs_option, add_systems_option, selected_systems
from convtx.harness.caseformat.casefile import Suite, load_suite
from convtx.harness.core.errors import ConvtxError, UsageError

DEFAULT_CASES = "cases"
EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="convtx", description="Cross-library conformance harness for "
                                "transposed convolution.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run cases through frameworks and compare with the expected tensors")
    run.add_argument("paths", nargs="*", default=[DEFAULT_CASES], help="case files or folders (default: cases/)")
    add_systems_option(run)
    run.add_argument("--json", metavar="FILE", help="write the results as JSON")
    run.add_argument("--html", metavar="FILE", help="write the self-contained HTML report")
    run.add_argument("--quiet", action="store_true", help="print only the summary")
    run.add_argument("--timeout", type=float, default=120.0, help="seconds per framework call (default 120)")
    run.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="device for frameworks that have one")
    run.add_argument("--checks", action="store_true",
                     help="also run the mathematical checks (adjoint, gradient, shape arithmetic) for the report")
    add_known_bugs_option(run)

    val = sub.add_parser("validate", help="check case files without running them")
    val.add_argument("paths", nargs="*", default=[DEFAULT_CASES])

    lst = sub.add_parser("list", help="list the cases")
    lst.add_argument("paths", nargs="*", default=[DEFAULT_CASES])
    lst.add_argument("--json", action="store_true", help="machine-readable output")

    exp = sub.add_parser("explain", help="show how one output element is computed")
    exp.add_argument("case", help="case id")
    exp.add_argument("--at", required=True, metavar="INDEX",
                     help="the output element's full index in the case's layout, e.g. 0,0,0,1")
    exp.add_argument("--cases", nargs="*", default=[DEFAULT_CASES], metavar="PATH")
    exp.add_argument("--json", action="store_true")

    rep = sub.add_parser("report", help="render a results JSON file")
    rep.add_argument("results", help="a JSON file written by `convtx run --json`")
    rep.add_argument("--html", metavar="FILE", required=True)
    rep.add_argument("--cases", nargs="*", default=[DEFAULT_CASES], metavar="PATH")

    from convtx.harness.commands import bench, importers, new as newcase
    from convtx.harness.analysis import fuzz, translate
    from convtx.harness.commands import check
    bench.add_parser(sub)
    importers.add_parser(sub)
    newcase.add_parser(sub)
    translate.add_parser(sub)
    fuzz.add_parser(sub)
    check.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "translate":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        return COMMANDS[args.command](args)
    except ConvtxError as err:  # bad input or usage (a case file, an argument, a known-bug file): one line
        print(f"convtx {args.command}: {err}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("convtx: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _print_errors(suite: Suite) -> None:
    for err in suite.errors:
        print(err, file=sys.stderr)


def cmd_run(args) -> int:
    from convtx.reports import terminal
    from convtx.harness.engine import knownbugs
    from convtx.harness.engine.results import write_json
    from convtx.harness.engine.runner import RunOptions, run_suite

    frameworks = selected_systems(args.frameworks)
    suite = load_suite(args.paths)
    _print_errors(suite)
    bugs = knownbugs.load(frameworks, args.known_bugs)
    total = (len(suite.entries) + len(suite.errors)) * len(frameworks)
    printer = terminal.Printer(quiet=args.quiet, total=total)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        opts = RunOptions(timeout=args.timeout, device=args.device, known_bugs=bugs)
        run = run_suite(suite, frameworks, progress=printer.progress, opts=opts)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if args.checks and not run.partial:
        from convtx.harness.analysis.framework_checks import all_checks
        from convtx.harness.analysis.checks import as_json
        run.checks = as_json(all_checks(frameworks, bugs, opts.hits))
        bad = [c for c in run.checks if c["status"] in ("fail", "error")]
        print(f"checks: {len(run.checks)} mathematical check(s), {len(bad)} failed")
    if [os.path.normpath(p) for p in args.paths] == [DEFAULT_CASES] and args.checks and not run.partial:
        for warning in knownbugs.stale(bugs, opts.hits, run.frameworks, run.environment):  # a whole run only
            print(f"warning: {warning}", file=sys.stderr)
    printer.summary(run)
    if args.json:
        write_json(args.json, run)
        print(f"results: {args.json}")
    if args.html:
        from convtx.reports import html
        html.write_report(args.html, run, suite)
        print(f"report: {args.html}")
    if run.partial:
        print("convtx run: interrupted; the results above are partial", file=sys.stderr)
        return EXIT_INTERRUPTED
    if suite.errors:
        return EXIT_INPUT
    failed_checks = [c for c in run.checks if c["status"] in ("fail", "error")]
    return EXIT_FAIL if run.failing() or failed_checks else EXIT_OK


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def cmd_validate(args) -> int:
    suite = load_suite(args.paths)
    _print_errors(suite)
    n_files = len(suite.files)
    print(f"{len(suite.entries)} valid case(s), {len(suite.errors)} error(s) in {n_files} file(s)")
    return EXIT_INPUT if suite.errors or not n_files else EXIT_OK


def cmd_list(args) -> int:
    suite = load_suite(args.paths)
    _print_errors(suite)
    rows = []
    for e in suite.entries:
        c = e.case
        shape = list(e.reading.output_shape()) if e.reading else f"invalid: {c.expected.reason}"
        rows.append({"id": c.id, "framework": c.framework, "op": c.op, "output": shape,
                     "title": c.title, "path": f"{c.mark}", "tags": list(c.tags)})
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        width = max((len(r["id"]) for r in rows), default=2)
        for r in rows:
            print(f"{r['id']:<{width}}  {r['framework']:<5}  {r['op']:<14}  {str(r['output']):<16}  {r['title']}")
        print(f"{len(rows)} case(s)")
    return EXIT_INPUT if suite.errors else EXIT_OK


def find_entry(suite: Suite, case_id: str):
    for e in suite.entries:
        if e.case.id == case_id:
            return e
    for err in suite.errors:
        if err.case_id == case_id:
            raise UsageError(f"case '{case_id}' is invalid: {err}")
    raise UsageError(f"no case with id '{case_id}' in {', '.join(suite.files) or 'the given paths'}")


def cmd_explain(args) -> int:
    from convtx.harness.analysis.explain import explain, parse_index

    suite = load_suite(args.cases)
    result = explain(find_entry(suite, args.case), parse_index(args.at))
    print(json.dumps(result.to_json(), indent=1) if args.json else result.text())
    return EXIT_OK


def cmd_report(args) -> int:
    from convtx.reports import html
    from convtx.harness.engine.results import read_json

    try:
        run = read_json(args.results)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UsageError(f"cannot read results {args.results!r}: {err}") from None
    html.write_report(args.html, run, load_suite(args.cases))
    print(f"report: {args.html}")
    return EXIT_OK


def cmd_new(args) -> int:
    from convtx.harness.commands import new as newcase
    return newcase.run(args)


def cmd_translate(args) -> int:
    from convtx.harness.analysis import translate
    return translate.run(args, args.extra)


def cmd_fuzz(args) -> int:
    from convtx.harness.analysis import fuzz
    return fuzz.run(args)


def cmd_check(args) -> int:
    from convtx.harness.commands import check
    return check.run(args)


def cmd_import(args) -> int:
    from convtx.harness.commands import importers
    return importers.run(args)


def cmd_bench(args) -> int:
    from convtx.harness.commands import bench
    return bench.run(args)


COMMANDS = {"bench": cmd_bench, "import": cmd_import, "check": cmd_check, "fuzz": cmd_fuzz, "translate": cmd_translate, "run": cmd_run, "validate": cmd_validate, "list": cmd_list, "explain": cmd_explain,
            "report": cmd_report, "new": cmd_new}

__all__ = ["main"]
