"""`convtx check`: the mathematical checks (reference and every selected system), printed and saved."""

from __future__ import annotations

import json

from convtx.harness.analysis.checks import as_json
from convtx.harness.analysis.framework_checks import all_checks
from convtx.harness.commands.options import add_known_bugs_option, add_systems_option, selected_systems
from convtx.harness.engine import knownbugs
from convtx.harness.core.files import write_atomic


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="the mathematical checks: adjoint identity, gradient form, shape arithmetic")
    add_systems_option(p)
    p.add_argument("--json", metavar="FILE")
    add_known_bugs_option(p)


def run(args) -> int:
    names = selected_systems(args.frameworks)
    results = all_checks(names, knownbugs.load(names, args.known_bugs))
    width = max(len(r.check) for r in results)
    for r in results:
        print(f"{r.status.upper():<16} {r.check:<{width}}  {r.framework:<12} {r.detail}")
    failed = [r for r in results if r.status in ("fail", "error")]
    print(f"{len(results)} check(s): {len(failed)} failed")
    if args.json:
        write_atomic(args.json, json.dumps(as_json(results), indent=1) + "\n")
    return 1 if failed else 0
