"""`convtx fuzz`: differential fuzzing of every framework against the reference.

A seeded generator (`fuzzgen`) draws N configurations spelled in the frameworks' own terms; the
runner sends each through every available framework (in parallel workers) and compares with the
NumPy reference.  Discrepancies are grouped by framework and kind (status + diagnosis), one
representative per group is shrunk to a minimal configuration by a greedy shrinker (each step
makes one integer smaller and keeps the step only if the same framework still fails the same way),
and written as a YAML case whose expected tensor comes from the reference and whose notes name the
framework and the diagnosis.

A campaign is its seed: configuration i depends only on (seed, i) (`fuzzgen`), so `--range A:B` runs
a slice of it and slices' findings add up to the whole's.  Generating, grouping, shrinking and writing
are this module's whatever runs the calls: `run_suite` here, or `campaign_ray` on a Ray cluster
(`--executor ray`), both returning the same `RunResults`; the shrinker always runs here.

Why not hypothesis: a hypothesis test stops generating at its first failure and shrinks that
one; a triage run needs every class of discrepancy in the whole N-configuration sample, grouped,
each shrunk - so the generation is a seeded NumPy generator (reproducible from --seed) and the
shrinker is this module's.  hypothesis still drives the reference-vs-loop property tests.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from convtx.harness.analysis import fuzzgen
from convtx.harness.caseformat.casefile import Entry, Suite
from convtx.harness.engine.results import FAILING, Result, RunResults
from convtx.harness.engine.cell import run_cell
from convtx.harness.engine.runner import Progress, RunOptions, run_suite
from convtx.harness.engine.store import cache_dir
from convtx.harness.engine.workers import CACHE_ENV, Executor, executor_for
from convtx.harness.caseformat.writer import plain_numbers, write_validated


@dataclass
class Finding:
    framework: str
    signature: str
    count: int
    config: fuzzgen.Config
    result: Result
    shrunk: fuzzgen.Config | None = None
    shrunk_result: Result | None = None
    path: str = ""


Execute = Callable[[Suite, list[str], Progress | None, RunOptions], RunResults]  # run_suite, or its Ray twin
DEFAULT_N = 200


@dataclass(frozen=True)
class Campaign:
    """Configurations start..stop-1 of the campaign seeded `seed` (`--n N` is `--range 0:N`)."""

    seed: int
    start: int
    stop: int

    @property
    def n(self) -> int:
        return self.stop - self.start


def add_parser(sub) -> None:
    from convtx.harness.commands.options import add_known_bugs_option, add_systems_option
    p = sub.add_parser("fuzz", help="differential fuzzing: random configurations through every framework")
    p.add_argument("--n", type=int, help=f"configurations to draw (default {DEFAULT_N}): --range 0:N")
    p.add_argument("--range", metavar="A:B", dest="span",
                   help="configurations A..B-1 of the seeded campaign (split a campaign across runs or machines)")
    p.add_argument("--seed", type=int, default=0, help="random seed (a run is reproducible from it)")
    add_systems_option(p)
    p.add_argument("--out", default=os.path.join("cases", "found"), help="where shrunk cases go (default cases/found)")
    p.add_argument("--no-shrink", action="store_true", help="report the groups, write nothing")
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--json", metavar="FILE", help="write the findings as JSON")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="where the calls run: local worker processes (default) or a Ray cluster")
    p.add_argument("--address", metavar="ADDR", help="with --executor ray: the cluster to join (default: start one here)")
    add_known_bugs_option(p)


def campaign_of(seed: int, n: int | None, span: str | None) -> Campaign:
    """The campaign slice `--seed`, `--n` and `--range` name (UsageError, one line, if they do not)."""
    from convtx.harness.core.errors import UsageError
    if seed < 0:
        raise UsageError(f"--seed must be >= 0 (got {seed})")
    if span is None:
        n = DEFAULT_N if n is None else n
        if n < 1:
            raise UsageError("--n must be >= 1")
        return Campaign(seed, 0, n)
    if n is not None:
        raise UsageError("--n and --range are two ways of saying one thing: give one")
    start, sep, stop = span.partition(":")
    if not (sep and start.strip().isdigit() and stop.strip().isdigit() and int(start) < int(stop)):
        raise UsageError(f"--range: expected A:B, whole numbers with A < B (e.g. 0:100), not {span!r}")
    return Campaign(seed, int(start), int(stop))


def signature(result: Result) -> str:
    """What kind of failure: status plus the diagnosis (or error) with numbers and sizes removed."""
    text = (result.diagnosis or result.note).split("; last log line:")[0]
    if not result.diagnosis and result.call and text.endswith("]") and " [" in text:
        text = text[:text.rindex(" [")]  # the call: its arguments vary within one kind of failure
    text = text.split(" / ")[0] if result.status == "error" else text  # the first line of an error
    text = re.sub(r"\[[^\]]*\]|\([^)]*\)", "", text)
    text = re.sub(r"(?<![\w.])-?\d+(\.\d+)?(e[-+]?\d+)?(?![\w.])", "#", text)  # numbers, not Conv2DTranspose
    return f"{result.status}: {' '.join(text.split())[:110]}"


def _failures(run: RunResults) -> dict[tuple[str, str], list[Result]]:
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in run.results:
        if r.status in FAILING:
            groups.setdefault((r.framework, signature(r)), []).append(r)
    return groups


def _still_fails(worker: Executor, config: fuzzgen.Config, framework: str, sig: str, opts: RunOptions) -> Result | None:
    """The configuration's verdict if it fails the same way and is no known bug, else None."""
    entry = fuzzgen.to_entry(config, 0)
    if entry is None:
        return None
    result = run_cell(entry, framework, worker, opts)
    return result if result.status in FAILING and signature(result) == sig else None


def _with(c: fuzzgen.Config, name: str, value: int | bool | tuple[int, ...]) -> fuzzgen.Config:
    """c with its field `name` set to `value` (one shrinking step)."""
    change: dict[str, Any] = {name: value}
    return dataclasses.replace(c, **change)


def smaller_configs(c: fuzzgen.Config) -> Iterator[fuzzgen.Config]:
    """Candidate configurations one step simpler than c (most effective first)."""
    n = c.ndim
    if n > 1:
        for a in range(n):
            drop = lambda t: tuple(v for j, v in enumerate(t) if j != a)  # noqa: E731
            yield dataclasses.replace(c, size=drop(c.size), kernel=drop(c.kernel), stride=drop(c.stride),
                                      dilation=drop(c.dilation), pads=drop(c.pads[:n]) + drop(c.pads[n:]))
    for name, low in (("batch", 1), ("groups", 1), ("cin_g", 1), ("cout_g", 1)):
        if getattr(c, name) > low:
            yield _with(c, name, low)
            yield _with(c, name, getattr(c, name) - 1)
    if c.bias:
        yield dataclasses.replace(c, bias=False)
    for name, low in (("size", 1), ("kernel", 1), ("stride", 1), ("dilation", 1), ("pads", 0)):
        values = getattr(c, name)
        for a, v in enumerate(values):
            if v > low:
                yield _with(c, name, values[:a] + (v - 1,) + values[a + 1:])
    for name in ("mode", "flags"):
        if getattr(c, name) > 0:
            yield _with(c, name, getattr(c, name) - 1)


def shrink(worker: Executor, finding: Finding, opts: RunOptions, budget: float = 30.0) -> None:
    """Greedy: take any one-step-smaller configuration that still fails the same way; repeat."""
    best, best_result = finding.config, finding.result
    deadline = time.time() + budget
    improved = True
    while improved and time.time() < deadline:
        improved = False
        for candidate in smaller_configs(best):
            if time.time() > deadline:
                break
            result = _still_fails(worker, candidate, finding.framework, finding.signature, opts)
            if result is not None:
                best, best_result, improved = candidate, result, True
                break
    finding.shrunk, finding.shrunk_result = best, best_result


def case_yaml(finding: Finding, index: int) -> tuple[str, dict]:
    """The shrunk configuration as a case in the project's format."""
    c = finding.shrunk or finding.config
    entry = _entry_of(c, index)
    r = finding.shrunk_result or finding.result
    case_id = f"found-{re.sub(r'[^a-z0-9._-]+', '-', finding.framework.lower()).strip('-')}-{c.seed}"  # tf[onednn=0]
    expected = entry.case.expected.spec.materialize("float64")
    data = {
        "id": case_id,
        "title": f"fuzz: {finding.framework} {r.status} on a {entry.case.framework} {c.op} call",
        "framework": entry.case.framework,
        "op": c.op,
        "args": entry.case.args,
        "input": entry.case.input.to_yaml(),
        "weight": entry.case.weight.to_yaml(),
        **({"bias": entry.case.bias.to_yaml()} if entry.case.bias is not None else {}),
        "expected": plain_numbers(expected),
        "dtype": c.dtype,
        "tolerance": {"rtol": float(entry.case.tol.rtol), "atol": float(entry.case.tol.atol)},
        "notes": (f"Found by convtx fuzz (seed of this configuration: {c.seed}) and shrunk. {finding.framework} "
                  f"disagreed with the reference: {r.status}. Diagnosis: {r.diagnosis or r.note} "
                  f"Call: {r.call}. {finding.count} configuration(s) of the run failed this way. "
                  "Expected values: the NumPy reference. Triage: harness bug, framework bug (xfail entry) "
                  "or semantic difference."),
        "tags": ["fuzz", finding.framework],
    }
    return case_id, data


def _entry_of(c: fuzzgen.Config, index: int) -> Entry:
    """The case of a configuration that ran (and failed): it is a valid call."""
    entry = fuzzgen.to_entry(c, index)
    if entry is None:
        raise ValueError(f"fuzz configuration {c.seed} is not a valid call")
    return entry


def write_case(finding: Finding, folder: str, index: int) -> str:
    """Write the shrunk case, validated first by the code `convtx validate` runs (raises CaseError)."""
    case_id, data = case_yaml(finding, index)
    path = os.path.join(folder, f"{case_id}.yaml")
    write_validated(path, data)
    return path


def fuzz(n: int, seed: int, frameworks: list[str], progress: Progress | None = None,
         opts: RunOptions | None = None, *, start: int = 0,
         execute: Execute | None = None) -> tuple[list[tuple[fuzzgen.Config, Entry]], RunResults, float]:
    """Generate configurations start..start+n-1 of the campaign `seed` and run them (known bugs applied)
    with `execute` (default: `run_suite`, here); returns (configs with entries, run results, seconds running)."""
    generated = fuzzgen.generate_range(seed, start, start + n)
    suite = Suite(entries=[e for _, e in generated])
    started = time.perf_counter()
    run = (execute or _local)(suite, frameworks, progress, opts or RunOptions())
    return generated, run, time.perf_counter() - started


def _local(suite: Suite, frameworks: list[str], progress: Progress | None, opts: RunOptions) -> RunResults:
    return run_suite(suite, frameworks, progress=progress, opts=opts)


def findings_of(generated: list[tuple[fuzzgen.Config, Entry]], run: RunResults) -> list[Finding]:
    configs = {e.case.id: c for c, e in generated}
    out: list[Finding] = []
    for (fw, sig), results in sorted(_failures(run).items()):
        first = results[0]
        out.append(Finding(fw, sig, len(results), configs[first.case], first))
    return out


def per_system(n: int, timings: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each system's throughput (n over its thread's wall time: worker start, calls, IPC, verdicts) and
    where its time went (the runner's `RunStats.timings`)."""
    return {fw: {**t, "configurations_per_second": n / t["wall"] if t.get("wall") else 0.0}
            for fw, t in timings.items()}


def _executor(args) -> Execute | None:
    """The execution `--executor` names (None: here); UsageError if it cannot be had."""
    from convtx.harness.core.errors import UsageError
    if args.executor != "ray":
        if args.address:
            raise UsageError("--address is the Ray cluster's: it needs --executor ray")
        return None
    from convtx.harness.analysis import campaign_ray
    return campaign_ray.executor(args.address)


def run(args) -> int:
    from convtx.harness.commands.options import selected_systems
    from convtx.harness.engine import knownbugs
    from convtx.reports import terminal

    names = selected_systems(args.frameworks, with_reference=False)
    campaign = campaign_of(args.seed, args.n, args.span)
    execute = _executor(args)
    printer = terminal.Printer(total=campaign.n * len(names))
    opts = RunOptions(timeout=args.timeout, known_bugs=knownbugs.load(names, args.known_bugs),
                      worker_env={CACHE_ENV: cache_dir()})  # compiled shapes kept across runs (JAX, tinygrad)
    generated, result, seconds = fuzz(campaign.n, campaign.seed, names, printer.progress, opts,
                                      start=campaign.start, execute=execute)
    if printer.tty:
        sys.stdout.write("\r" + " " * 100 + "\r")
    systems = per_system(len(generated), opts.stats.timings)
    _print_summary(campaign, names, result, seconds, systems)
    findings = findings_of(generated, result)
    if not findings:
        print("no discrepancies")
    for i, f in enumerate(findings):
        _settle(f, i, args, opts)
    if args.json:
        _write_json(args.json, campaign, result, seconds, systems, findings)
    return 130 if result.partial else (1 if findings else 0)


def _print_summary(campaign: Campaign, names: list[str], result: RunResults, seconds: float,
                   systems: dict[str, dict[str, float]]) -> None:
    counts = result.counts()
    where = f"range {campaign.start}:{campaign.stop} of seed {campaign.seed}" if campaign.start else f"seed {campaign.seed}"
    print(f"fuzz: {campaign.n} configurations ({where}) x {len(names)} frameworks in {seconds:.1f} s: "
          f"{campaign.n / seconds:.1f} configurations/s")
    for fw in names:
        row = counts.get(fw, {})
        print(f"  {fw:<12} {result.frameworks.get(fw) or 'not installed':<28} "
              + ", ".join(f"{k} {v}" for k, v in sorted(row.items())))
    known = sum(row.get("xfail", 0) for row in counts.values())
    refused = sum(row.get("unsupported", 0) for row in counts.values())
    print(f"  not new: {known} known-bug hit(s) (xfail), {refused} refusal(s) of this build/device (unsupported)")
    print("  per system (configurations/s over its worker's own time, start included): " + ", ".join(
        f"{fw} {t['configurations_per_second']:.1f}" for fw, t in sorted(systems.items(),
                                                                          key=lambda i: i[1]["configurations_per_second"])))
    if result.partial:
        print("fuzz: interrupted; partial", file=sys.stderr)


def _settle(f: Finding, i: int, args, opts: RunOptions) -> None:
    """Print one finding; unless --no-shrink, shrink it (here, whatever the executor) and write its case."""
    from convtx.harness.core.errors import CaseError
    print(f"\n[{i + 1}] {f.framework}: {f.count} configuration(s), first {f.result.case}: {f.signature}")
    if args.no_shrink:
        return
    worker = executor_for(f.framework, timeout=args.timeout)
    try:
        if worker.start().available:
            shrink(worker, f, opts)
    finally:
        worker.stop()
    r = f.shrunk_result or f.result
    try:
        f.path = write_case(f, args.out, i)
    except CaseError as err:
        print(f"    not written: the shrunk case would not validate: {err}")
        return
    print(f"    shrunk to {f.path}: {r.diagnosis or r.note}")


def _write_json(path: str, campaign: Campaign, result: RunResults, seconds: float,
                systems: dict[str, dict[str, float]], findings: list[Finding]) -> None:
    from convtx.harness.core.files import write_atomic
    write_atomic(path, json.dumps({
        "seed": campaign.seed, "range": [campaign.start, campaign.stop], "n": campaign.n, "seconds": seconds,
        "frameworks": result.frameworks, "counts": result.counts(), "configurations_per_second": campaign.n / seconds,
        "systems": systems,
        "findings": [{"framework": f.framework, "signature": f.signature, "count": f.count, "first": f.result.case,
                      "case": f.path, "diagnosis": (f.shrunk_result or f.result).diagnosis,
                      "note": (f.shrunk_result or f.result).note} for f in findings]}, indent=1) + "\n")
