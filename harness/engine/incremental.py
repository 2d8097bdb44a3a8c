"""Incremental runs: which cells a run must compute, and which it reads from the result store.

`prepare` decides per system, before anything starts: a system that is not installed is skipped (no
worker); otherwise each cell gets its key (`keys.py`) and the store is asked for it.  A system whose
cells all come from the store needs no worker: its version and environment come from the hello the
store recorded with its fingerprint.  A system with work starts a worker as before; if that worker's
hello differs from the stored one (something the fingerprint cannot see changed), its stored results
are not used and every cell of it is recomputed.

What is stored: every verdict except `timeout` and `skipped`, and except one made while the worker
was killed or could not restart (load, memory: not a property of the call); a crash of the framework
itself (a CHECK failure, a segfault) is a verdict like any other.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from convtx.adapters import load
from convtx.harness.caseformat.casefile import Entry
from convtx.harness.engine import keys
from convtx.harness.engine.knownbugs import of_system
from convtx.harness.engine.results import Result
from convtx.harness.engine.store import Hit, Store, StoredHello

NOT_STORED = ("timeout", "skipped")
TRANSIENT_EXITS = (None, -9, -15)  # a worker killed (by us on a timeout, or by the system) or that could not start


@dataclass
class RunStats:
    """What a run computed, what it read from the store, and which systems it started."""

    from_store: int = 0
    computed: int = 0
    started: list[str] = field(default_factory=list)  # systems whose executor started, heaviest first
    workers: list[str] = field(default_factory=list)  # of those, the ones that started a worker process
    recomputed: dict[str, str] = field(default_factory=dict)  # system -> why its stored results were not used
    timings: dict[str, dict[str, float]] = field(default_factory=dict)  # system -> ExecStats.figures()


@dataclass
class Plan:
    """One system's part of a run."""

    system: str
    cells: list[Entry]
    todo: list[Entry]
    cached: list[Hit] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # case id -> cell key (empty without a store)
    fingerprint: str = ""
    hello: StoredHello | None = None
    skip: str | None = None  # not installed: every cell is skipped with this note


def prepare(fw: str, cells: list[Entry], store: Store | None, refresh: bool, known_bugs: list,
            case_keys: dict[str, str], device: str, worker_env: dict[str, str]) -> Plan:
    system = load(fw)
    if not system.available():
        return Plan(fw, cells, [], skip=f"skipped: not installed ({system.install_hint})")
    if store is None:
        return Plan(fw, cells, list(cells))
    fingerprint = keys.system_fingerprint(fw, device=system.device or device, worker_env=worker_env)
    own = of_system(fw, known_bugs)
    digests = {id(b): keys.bug_digest(b) for b in own}
    cell_keys = {e.case.id: keys.cell_key(fingerprint, case_keys[e.case.id],
                                          [digests[id(b)] for b in keys.applicable_bugs(fw, e.case.id, own)])
                 for e in cells}
    hello = store.hello(fingerprint)
    found = {} if refresh or hello is None else store.results(cell_keys.values())
    cached = [found[cell_keys[e.case.id]] for e in cells if cell_keys[e.case.id] in found]
    todo = [e for e in cells if cell_keys[e.case.id] not in found]
    return Plan(fw, cells, todo, cached, cell_keys, fingerprint, hello)


def heaviest_first(systems: list[str], timings: dict[str, dict[str, float]]) -> list[str]:
    """The systems, the one whose start (its framework's import) was measured slowest first; never
    measured ones before all others (they may be the heaviest)."""
    return sorted(systems, key=lambda s: timings.get(s, {}).get("start", math.inf), reverse=True)


def same_hello(stored: StoredHello | None, version: str | None, environment: dict[str, Any]) -> bool:
    if stored is None:
        return True
    live = json.loads(json.dumps(environment, sort_keys=True, default=str))
    return stored.version == version and stored.environment == live


def storable(result: Result, exits: list[int | None]) -> bool:
    """Whether a computed verdict may be stored (`exits`: worker deaths during its call)."""
    return result.status not in NOT_STORED and not any(code in TRANSIENT_EXITS for code in exits)
