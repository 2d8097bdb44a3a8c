"""The mathematical checks run through the real frameworks (each in its worker), and `convtx check`.

For each framework: the adjoint identity with its own forward and transposed calls, the gradient
form (for adapters with `input_gradient`: torch.autograd, jax.vjp, tf.GradientTape), and the output
shapes of Dumoulin & Visin's relationships 8-14.  See `checks` for the reference side.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from convtx.adapters import ADAPTERS, REFERENCE, load
from convtx.harness import semantics
from convtx.harness.engine import knownbugs
from convtx.harness.analysis.checks import SAMPLES, CheckResult, _data, as_json, pair, reference_checks, shape_geometry, shape_table
from convtx.harness.engine.workers import Worker


def _said(adapter, g):
    """The framework's reading of geometry g (express, or the adapter's fallback), or a reason."""
    reading = semantics.express(adapter.DIALECT, g)
    if isinstance(reading, semantics.NotExpressibleHere):
        fallback = getattr(adapter, "fallback", None)
        other = fallback(g) if fallback else None
        return (other, other.op, dict(other.args)) if other is not None else (reading.reason, None, None)
    return reading, g.op, dict(reading.given)


def _limit(adapter, op, g, dtype, args) -> str | None:
    limit = getattr(adapter, "api_limit", None)
    return limit(op, g, dtype, args) if limit else None


def _failure(fw: str, message: str) -> tuple[str, str]:
    """A worker's error as a check status: `unsupported` when it is the system's own refusal."""
    from convtx.harness.engine.runner import refusal_of
    return ("unsupported", message) if refusal_of(fw, message) else ("error", message)


@dataclass
class Ran:
    """One call of a check: the canonical output, or (status, why); the dtype and native args used."""

    output: np.ndarray | None
    why: tuple[str, str] | None
    dtype: str | None
    geometry: object
    args: dict


def _run(worker, adapter, fw, g, x, w) -> Ran:
    """Run geometry g in float64 where the system runs it (its API and this build), else float32."""
    reading, op, args = _said(adapter, g)
    if args is None:
        return Ran(None, ("not_expressible", reading), None, g, {})
    why: tuple[str, str] | None = None
    for dtype in ("float64", "float32"):
        limit = _limit(adapter, op, g, dtype, args)
        if limit:
            why = ("not_expressible", limit)
            continue
        reply = worker.call(op, args, reading.from_canonical_input(x), reading.from_canonical_weight(w), None, dtype)
        if reply.kind == "ok":
            return Ran(reading.to_canonical_output(reply.output), None, dtype, g, args)
        why = _failure(fw, reply.message)
        if why[0] != "unsupported":
            return Ran(None, why, dtype, g, args)
    return Ran(None, why, "float32", g, args)


def adjoint(worker, adapter, fw: str) -> list[CheckResult]:
    out = []
    for n, sample in enumerate(SAMPLES):
        fwd, tr = pair(sample)
        x, w, y = _data(fwd, n)
        one, two = _run(worker, adapter, fw, fwd, x, w), _run(worker, adapter, fw, tr, y, w)
        dt = "float64" if one.dtype == two.dtype == "float64" else "float32"
        if one.output is None or two.output is None:
            bad = one if one.output is None else two
            status, why = bad.why or ("error", "no output")
            out.append(CheckResult(f"adjoint-{n}", fw, status, f"{fwd.describe()}: {why}", bad.geometry, bad.args))
            continue
        lhs, rhs = float(np.vdot(one.output, y)), float(np.vdot(x, two.output))
        rel = abs(lhs - rhs) / max(abs(lhs), 1e-300)
        limit = 1e-10 if dt == "float64" else 1e-4
        out.append(CheckResult(f"adjoint-{n}", fw, "pass" if rel < limit else "fail",
                               f"{fwd.describe()} in {one.dtype}/{two.dtype}: <conv(x,w),y> = {lhs:.10g}, "
                               f"<x,conv_T(y,w)> = {rhs:.10g} (relative difference {rel:.1e}, allowed {limit:g})",
                               tr, two.args))
    return out


def gradient(worker, adapter, fw: str) -> list[CheckResult]:
    if not hasattr(adapter, "input_gradient"):
        return [CheckResult("gradient", fw, "skipped", "the adapter has no input_gradient (no autodiff used)")]
    out = []
    for n, sample in enumerate(SAMPLES):
        fwd, tr = pair(sample)
        x, w, y = _data(fwd, n)
        reading, op, args = _said(adapter, fwd)
        if args is None or op != "conv":
            out.append(CheckResult(f"gradient-{n}", fw, "not_expressible", f"{fwd.describe()}: {reading}"))
            continue
        for dtype in ("float64", "float32"):
            reply = worker.invoke("input_gradient", args=args, x=reading.from_canonical_input(x),
                                  w=reading.from_canonical_weight(w), cotangent=reading.from_canonical_output(y),
                                  dtype=dtype)
            if reply.kind == "ok" or _failure(fw, reply.message)[0] != "unsupported":
                break
        if reply.kind != "ok":
            status, why = _failure(fw, reply.message)
            out.append(CheckResult(f"gradient-{n}", fw, status, f"{fwd.describe()}: {why}", fwd, args))
            continue
        grad = reading.to_canonical_input(reply.output)
        want = numpy_ref_transpose(y, w, tr)
        err = float(np.max(np.abs(grad - want))) if grad.shape == want.shape else float("inf")
        limit = 1e-10 if dtype == "float64" else 1e-4
        out.append(CheckResult(f"gradient-{n}", fw, "pass" if err < limit else "fail",
                               f"{fwd.describe()} in {dtype}: d<conv(x,w),y>/dx vs the reference conv_transpose(y, w): "
                               f"max abs difference {err:.1e} (allowed {limit:g})", fwd, args))
    return out


def numpy_ref_transpose(y, w, tr):
    from convtx.adapters import numpy_ref
    return numpy_ref.conv_transpose(y, w, None, tr)


def shapes(worker, adapter, fw: str) -> list[CheckResult]:
    out = []
    for r in shape_table():
        g = shape_geometry(r)
        ran = _run(worker, adapter, fw, g, np.ones(g.input_shape), np.ones(g.weight_shape))
        name = f"shape-rel-{r['relationship']}"
        if ran.output is None:
            status, why = ran.why or ("error", "no output")
            out.append(CheckResult(name, fw, status, why, g, ran.args))
            continue
        ok = ran.output.shape[2:] == (r["expected"], r["expected"])
        out.append(CheckResult(name, fw, "pass" if ok else "fail", f"{r['formula']} = {r['expected']}; {fw} gives "
                               f"{'x'.join(map(str, ran.output.shape[2:]))}", g, ran.args))
    return out


def framework_checks(frameworks: list[str], bugs: list[knownbugs.KnownBug] | None = None,
                     hits: set[str] | None = None, worker_env: dict[str, str] | None = None) -> list[CheckResult]:
    out = []
    for fw in frameworks:
        if fw == REFERENCE:
            continue
        adapter = load(fw)
        if not adapter.available():
            out.append(CheckResult("all", fw, "skipped", f"not installed ({adapter.INSTALL_HINT})"))
            continue
        worker = Worker(fw, timeout=120, env=worker_env)
        try:
            hello = worker.start()
            if not hello.available:
                out.append(CheckResult("all", fw, "skipped", hello.error or "unavailable"))
                continue
            mine = adjoint(worker, adapter, fw) + gradient(worker, adapter, fw) + shapes(worker, adapter, fw)
            out += [_known(r, bugs or [], hello, hits) for r in mine]
        finally:
            worker.stop()
    return out


def _known(r: CheckResult, bugs: list[knownbugs.KnownBug], hello, hits: set[str] | None) -> CheckResult:
    """A check result through the known bugs in scope of the worker's version and environment."""
    facts = knownbugs.CellFacts(r.check, r.framework, r.geometry, dict(r.args or {}),
                                "float64" if "float64" in r.detail else "float32")
    verdict = knownbugs.judge(r.status, r.detail, facts, bugs, hello.version, hello.environment)
    r.status, r.detail = verdict.status, verdict.note
    if verdict.entry is not None and hits is not None:
        hits.add(verdict.entry.where)
    return r


def all_checks(frameworks: list[str], bugs: list[knownbugs.KnownBug] | None = None,
               hits: set[str] | None = None, worker_env: dict[str, str] | None = None) -> list[CheckResult]:
    bugs = knownbugs.load(frameworks) if bugs is None else bugs
    return reference_checks() + framework_checks(frameworks, bugs, hits, worker_env)


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="the mathematical checks: adjoint identity, gradient form, shape arithmetic")
    p.add_argument("--frameworks", help="comma-separated ids (default: every adapter)")
    p.add_argument("--json", metavar="FILE")
    from convtx.harness.commands.cli import add_known_bugs_option
    add_known_bugs_option(p)


def run(args) -> int:
    from convtx.harness.core.errors import UsageError
    from convtx.harness.engine.results import write_atomic

    names = [f.strip() for f in (args.frameworks or "").split(",") if f.strip()] or list(ADAPTERS)
    unknown = [f for f in names if f not in ADAPTERS]
    if unknown:
        raise UsageError(f"--frameworks: unknown {', '.join(unknown)} (known: {', '.join(ADAPTERS)})")
    results = all_checks(names, knownbugs.load(names, args.known_bugs))
    width = max(len(r.check) for r in results)
    for r in results:
        print(f"{r.status.upper():<16} {r.check:<{width}}  {r.framework:<12} {r.detail}")
    failed = [r for r in results if r.status in ("fail", "error")]
    print(f"{len(results)} check(s): {len(failed)} failed")
    if args.json:
        write_atomic(args.json, json.dumps(as_json(results), indent=1) + "\n")
    return 1 if failed else 0
