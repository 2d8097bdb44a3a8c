"""The `convtx` command line: the parser, the dispatch, and what every command shares.

Exit codes: 0 nothing unexpected failed; 1 some case does not conform; 2 invalid input or usage.
Bad input is reported as one line per problem (`path:line:col: case 'id': field: ...`), never a
traceback, and valid cases still run.  A closed pipe (`convtx list --json | head`) ends quietly.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys

from convtx.harness.caseformat.casefile import Suite, load_suite
from convtx.harness.commands.run import DEFAULT_CASES, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, cmd_run, print_errors
from convtx.harness.core.errors import ConvtxError, UsageError


def _parser() -> argparse.ArgumentParser:
    from convtx import __version__
    p = argparse.ArgumentParser(prog="convtx", description="Cross-library conformance harness for "
                                "transposed convolution.")
    p.add_argument("--version", action="version", version=f"convtx {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from convtx.harness.commands import run
    run.add_parser(sub)

    val = sub.add_parser("validate", help="check case files without running them")
    val.add_argument("paths", nargs="*", default=[DEFAULT_CASES])

    lst = sub.add_parser("list", help="list the cases")
    lst.add_argument("paths", nargs="*", default=[DEFAULT_CASES])
    lst.add_argument("-k", dest="keyword", metavar="EXPR", help="only cases whose id, title or tags match")
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

    from convtx.harness.analysis import fuzz, translate
    from convtx.harness.commands import bench, check, envs, importers, merge, new as newcase, watch
    for module in (watch, bench, importers, newcase, translate, fuzz, check, merge, envs):
        module.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as a Unix tool does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def _main(argv: list[str] | None) -> int:
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


def cmd_validate(args) -> int:
    suite = load_suite(args.paths)
    print_errors(suite)
    n_files = len(suite.files)
    print(f"{len(suite.entries)} valid case(s), {len(suite.errors)} error(s) in {n_files} file(s)")
    return EXIT_INPUT if suite.errors or not n_files else EXIT_OK


def cmd_list(args) -> int:
    from convtx.harness.commands.selection import select
    suite = select(load_suite(args.paths), args.keyword)
    print_errors(suite)
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
    ids = [e.case.id for e in suite.entries]
    close = difflib.get_close_matches(case_id, ids, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else f" ({len(ids)} cases in {len(suite.files)} files)"
    raise UsageError(f"no case with id '{case_id}'{hint}")


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


def cmd_merge(args) -> int:
    from convtx.harness.commands import merge
    return merge.run(args)


def cmd_watch(args) -> int:
    from convtx.harness.commands import watch
    return watch.run(args)


def cmd_env(args) -> int:
    from convtx.harness.commands import envs
    return envs.run(args)


COMMANDS = {"bench": cmd_bench, "import": cmd_import, "check": cmd_check, "fuzz": cmd_fuzz,
            "translate": cmd_translate, "run": cmd_run, "validate": cmd_validate, "list": cmd_list,
            "explain": cmd_explain, "report": cmd_report, "new": cmd_new, "merge": cmd_merge,
            "env": cmd_env, "watch": cmd_watch}

__all__ = ["main"]
