"""`convtx run`: every selected case through every selected system, the summary, the results files.

Selection as pytest users expect: `-k EXPR` over ids, titles and tags, `--lf` (the last run's
failures), `-x` (stop at the first failure).  Exit codes: 0 nothing unexpected failed, 1 some result
or check does not conform, 2 invalid input or usage (the valid cases still ran), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from convtx.harness.caseformat.casefile import Suite, load_suite
from convtx.harness.commands.options import add_known_bugs_option, add_systems_option, selected_systems
from convtx.harness.commands.selection import record_failures, select
from convtx.harness.core.errors import UsageError
from convtx.harness.engine.results import RunResults

DEFAULT_CASES = "cases"
EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_parser(sub) -> None:
    run = sub.add_parser("run", help="run cases through frameworks and compare with the expected tensors")
    run.add_argument("paths", nargs="*", default=[DEFAULT_CASES], help="case files or folders (default: cases/)")
    add_systems_option(run)
    add_selection_options(run)
    add_output_options(run)
    run.add_argument("--quiet", action="store_true", help="print only the summary")
    run.add_argument("--timeout", type=float, default=120.0, help="seconds per framework call (default 120)")
    run.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="device for frameworks that have one")
    run.add_argument("--checks", action="store_true",
                     help="also run the mathematical checks (adjoint, gradient, shape arithmetic) for the report")
    add_known_bugs_option(run)
    run.add_argument("--shard", metavar="I/N", help="only shard I of N of the case x system cells (then `convtx merge`)")
    run.add_argument("--label", default="", help="this run's name among others, e.g. the machine or venv (for merge)")
    cache = run.add_mutually_exclusive_group()
    cache.add_argument("--no-cache", action="store_true",
                       help="neither read nor write the result store (.convtx/store.sqlite, or $CONVTX_STORE)")
    cache.add_argument("--refresh", action="store_true", help="recompute every result, and write the store")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--html", metavar="FILE", help="write the self-contained HTML report")
    parser.add_argument("--junit", metavar="FILE", help="write JUnit XML (one testsuite per system)")


def parse_shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        i, n = (int(v) for v in value.split("/"))
    except ValueError:
        raise UsageError(f"--shard {value!r}: expected I/N, e.g. 1/4") from None
    if not 1 <= i <= n:
        raise UsageError(f"--shard {value!r}: I must be between 1 and N")
    return i, n


def add_selection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-k", dest="keyword", metavar="EXPR",
                        help="only cases whose id, title or tags match, e.g. -k 'doc000 and not op1'")
    parser.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failing result")
    parser.add_argument("--lf", "--last-failed", dest="last_failed", action="store_true",
                        help="only the cases that failed in the last run (all of them if none did)")


def existing_paths(paths: list[str]) -> list[str]:
    """UsageError for a path that is not there (a case id given as a path gets a hint)."""
    for path in paths:
        if not os.path.exists(path):
            hint = f" (to select cases by id, use -k {path})" if os.sep not in path and "." not in path else ""
            raise UsageError(f"{path}: no such file or folder{hint}")
    return paths


def print_errors(suite: Suite) -> None:
    for err in suite.errors:
        print(str(err), file=sys.stderr)


def cmd_run(args) -> int:
    from convtx.harness.engine import knownbugs
    from convtx.harness.engine.runner import RunOptions, run_suite
    from convtx.reports import terminal

    frameworks = selected_systems(args.frameworks)
    loaded = load_suite(existing_paths(args.paths))
    suite = select(loaded, args.keyword, args.last_failed)
    print_errors(suite)
    if args.keyword and not suite.entries and loaded.entries:
        raise UsageError(f"-k {args.keyword!r} selects none of the {len(loaded.entries)} case(s)")
    bugs = knownbugs.load(frameworks, args.known_bugs)
    printer = terminal.Printer(quiet=args.quiet, total=(len(suite.entries) + len(suite.errors)) * len(frameworks))
    opts = RunOptions(timeout=args.timeout, device=args.device, known_bugs=bugs, exitfirst=args.exitfirst,
                      shard=parse_shard(args.shard), store=_open_store(args), refresh=args.refresh,
                      on_start=lambda started: printer.starting(started) if started else None)
    previous = signal.signal(signal.SIGTERM, sigterm_as_interrupt)
    try:
        run = run_suite(suite, frameworks, progress=printer.progress, opts=opts)
    finally:
        signal.signal(signal.SIGTERM, previous)
        printer.close()
        if opts.store is not None:
            opts.store.close()
    store_line(opts)
    from convtx.harness.caseformat.fingerprint import suite_fingerprint
    run.label, run.suite, run.shard = args.label, suite_fingerprint(suite), args.shard or ""
    _checks(args, run, frameworks, bugs, opts.hits)
    if args.paths == [DEFAULT_CASES] and not args.keyword and not args.last_failed and args.checks and not run.partial:
        for warning in knownbugs.stale(bugs, opts.hits, run.frameworks, run.environment):  # a whole run only
            print(f"warning: {warning}", file=sys.stderr)
    verdict = terminal.Verdict(len(run.failing()), len(suite.errors), _failed_checks(run),
                               args.exitfirst and opts.stop.is_set() and not run.partial)
    printer.summary(run, verdict)
    write_outputs(args, run, suite)
    if not run.partial:
        record_failures(run, suite.entries)
    return _exit_code(run, verdict)


def _open_store(args):
    if args.no_cache:
        return None
    from convtx.harness.engine.store import Store
    return Store.open()


def store_line(opts) -> None:
    """How many results came from the store, how many were computed, which systems started."""
    if opts.store is None:
        return
    stats = opts.stats
    warm = [s for s in stats.started if stats.timings.get(s, {}).get("starts", 1) == 0]  # a kept pool's
    started = ", ".join(s for s in stats.started if s not in warm) or "none"
    print(f"store: {stats.from_store} result(s) from {opts.store.path}, {stats.computed} computed; "
          f"systems started: {started}" + (f"; warm: {', '.join(warm)}" if warm else ""))
    for system, why in stats.recomputed.items():
        print(f"store: {system}: stored results not used: {why}", file=sys.stderr)
    if opts.store.bad_rows:
        print(f"warning: {opts.store.path}: {opts.store.bad_rows} stored result(s) failed their checksum and "
              "were recomputed", file=sys.stderr)


def _checks(args, run: RunResults, frameworks: list[str], bugs, hits: set[str]) -> None:
    if not args.checks or run.partial:
        return
    from convtx.harness.analysis.checks import as_json
    from convtx.harness.analysis.framework_checks import all_checks
    run.checks = as_json(all_checks(frameworks, bugs, hits))
    print(f"checks: {len(run.checks)} mathematical check(s), {_failed_checks(run)} failed")


def _failed_checks(run: RunResults) -> int:
    return sum(1 for c in run.checks if c["status"] in ("fail", "error"))


def write_outputs(args, run: RunResults, suite: Suite) -> None:
    from convtx.harness.engine.results import write_json
    if args.json:
        write_json(args.json, run)
        print(f"results: {args.json}")
    if args.junit:
        from convtx.harness.core.files import write_atomic
        from convtx.reports.junit import junit_xml
        write_atomic(args.junit, junit_xml(run))
        print(f"junit: {args.junit}")
    if args.html:
        from convtx.reports import html
        html.write_report(args.html, run, suite)
        print(f"report: {args.html}")


def _exit_code(run: RunResults, verdict) -> int:
    if run.partial:
        print("convtx run: interrupted; the results above are partial", file=sys.stderr)
        return EXIT_INTERRUPTED
    if verdict.invalid:
        return EXIT_INPUT
    return EXIT_FAIL if verdict.failing or verdict.failed_checks else EXIT_OK


def sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt
