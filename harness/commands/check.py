"""`convtx check`: the mathematical checks (reference and every selected system), as pytest prints tests.

One character per check as each system finishes (`.` pass, `F` fail, `E` error, `x` known bug,
`u` unsupported by this build, `-` not expressible, `s` skipped), then one line per failure with
its detail, then the counts; `--verbose` lists every check.  `--json` saves them all.
"""

from __future__ import annotations

import json
import sys

from convtx.harness.analysis.checks import CheckResult, as_json
from convtx.harness.analysis.framework_checks import all_checks
from convtx.harness.commands.options import add_known_bugs_option, add_systems_option, selected_systems
from convtx.harness.core.files import write_atomic
from convtx.harness.engine import knownbugs

MARK = {"pass": ".", "fail": "F", "error": "E", "xfail": "x", "unsupported": "u", "not_expressible": "-",
        "skipped": "s"}
FAILED = ("fail", "error")


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="the mathematical checks: adjoint identity, gradient form, shape arithmetic")
    add_systems_option(p)
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--verbose", "-v", action="store_true", help="one line per check, passes included")
    add_known_bugs_option(p)


def _dots(results: list[CheckResult]) -> None:
    if results:
        sys.stdout.write(f"{results[0].framework:<12} " + "".join(MARK.get(r.status, "?") for r in results) + "\n")
        sys.stdout.flush()


def run(args) -> int:
    names = selected_systems(args.frameworks)
    results = all_checks(names, knownbugs.load(names, args.known_bugs), progress=None if args.verbose else _dots)
    failed = [r for r in results if r.status in FAILED]
    width = max(len(r.check) for r in results)
    for r in results if args.verbose else failed:
        print(f"{r.status.upper():<16} {r.check:<{width}}  {r.framework:<12} {r.detail}")
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    said = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"{len(results)} check(s): {len(failed)} failed ({said})")
    if args.json:
        write_atomic(args.json, json.dumps(as_json(results), indent=1) + "\n")
    return 1 if failed else 0
