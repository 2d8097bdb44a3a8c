"""The mathematical checks run through the real frameworks (each on its executor).

For each framework: the adjoint identity with its own forward and transposed calls, the gradient
form (for adapters with `input_gradient`: torch.autograd, jax.vjp, tf.GradientTape), and the output
shapes of Dumoulin & Visin's relationships 8-14.  See `checks` for the reference side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from convtx.adapters import REFERENCE, load
from convtx.adapters.contract import System
from convtx.harness.analysis.checks import (SAMPLES, CheckResult, as_json, pair, reference_checks, sample_data,
                                            shape_geometry, shape_table)
from convtx.harness.core import reference
from convtx.harness.core.problem import Geometry
from convtx.harness.engine import knownbugs
from convtx.harness.engine.plan import say
from convtx.harness.engine.verdict import refusal_of
from convtx.harness.engine.workers import Executor, executor_for


def _failure(system: System, message: str) -> tuple[str, str]:
    """An executor's error as a check status: `unsupported` when it is the system's own refusal."""
    return ("unsupported", message) if refusal_of(system, message) else ("error", message)


@dataclass
class Ran:
    """One call of a check: the canonical output, or (status, why); the dtype and native args used."""

    output: np.ndarray | None
    why: tuple[str, str] | None
    dtype: str | None
    geometry: Geometry | None
    args: dict


def _run(worker: Executor, system: System, g, x, w) -> Ran:
    """Run geometry g in float64 where the system runs it (its API and this build), else float32."""
    said = say(system, g)
    if isinstance(said, str):
        return Ran(None, ("not_expressible", said), None, g, {})
    op, args = said.op, dict(said.call_args)
    why: tuple[str, str] | None = None
    for dtype in ("float64", "float32"):
        limit = system.api_limit(op, g, dtype, args)
        if limit:
            why = ("not_expressible", limit)
            continue
        reply = worker.call(op, args, said.from_canonical_input(x), said.from_canonical_weight(w), None, dtype)
        if reply.kind == "ok":
            return Ran(said.to_canonical_output(reply.output), None, dtype, g, dict(said.full_args))
        why = _failure(system, reply.message)
        if why[0] != "unsupported":
            return Ran(None, why, dtype, g, args)
    return Ran(None, why, "float32", g, args)


def adjoint(worker: Executor, system: System) -> list[CheckResult]:
    fw = system.id
    out = []
    for n, sample in enumerate(SAMPLES):
        fwd, tr = pair(sample)
        x, w, y = sample_data(fwd, n)
        one, two = _run(worker, system, fwd, x, w), _run(worker, system, tr, y, w)
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


def gradient(worker: Executor, system: System) -> list[CheckResult]:
    fw = system.id
    if "gradient" not in system.capabilities:
        return [CheckResult("gradient", fw, "skipped", "the adapter has no input_gradient (no autodiff used)")]
    out = []
    for n, sample in enumerate(SAMPLES):
        fwd, tr = pair(sample)
        x, w, y = sample_data(fwd, n)
        reading = say(system, fwd)
        if isinstance(reading, str) or reading.op != "conv":
            out.append(CheckResult(f"gradient-{n}", fw, "not_expressible", f"{fwd.describe()}: {reading}"))
            continue
        args = dict(reading.call_args)
        for dtype in ("float64", "float32"):
            reply = worker.invoke("input_gradient", args=args, x=reading.from_canonical_input(x),
                                  w=reading.from_canonical_weight(w), cotangent=reading.from_canonical_output(y),
                                  dtype=dtype)
            if reply.kind == "ok" or _failure(system, reply.message)[0] != "unsupported":
                break
        if reply.kind != "ok":
            status, why = _failure(system, reply.message)
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
    return reference.conv_transpose(y, w, None, tr)


def shapes(worker: Executor, system: System) -> list[CheckResult]:
    fw = system.id
    out = []
    for r in shape_table():
        g = shape_geometry(r)
        ran = _run(worker, system, g, np.ones(g.input_shape), np.ones(g.weight_shape))
        name = f"shape-rel-{r['relationship']}"
        if ran.output is None:
            status, why = ran.why or ("error", "no output")
            out.append(CheckResult(name, fw, status, why, g, ran.args))
            continue
        ok = ran.output.shape[2:] == (r["expected"], r["expected"])
        out.append(CheckResult(name, fw, "pass" if ok else "fail", f"{r['formula']} = {r['expected']}; {fw} gives "
                               f"{'x'.join(map(str, ran.output.shape[2:]))}", g, ran.args))
    return out


Progress = Callable[[list[CheckResult]], None]


def framework_checks(frameworks: list[str], bugs: list[knownbugs.KnownBug] | None = None,
                     hits: set[str] | None = None, worker_env: dict[str, str] | None = None,
                     progress: Progress | None = None) -> list[CheckResult]:
    """Every system's checks, each system on its executor; `progress` gets each system's results."""
    out: list[CheckResult] = []
    for fw in frameworks:
        done = len(out)
        out += _system_checks(fw, bugs, hits, worker_env)
        if progress:
            progress(out[done:])
    return out


def _system_checks(fw: str, bugs: list[knownbugs.KnownBug] | None, hits: set[str] | None,
                   worker_env: dict[str, str] | None) -> list[CheckResult]:
    out: list[CheckResult] = []
    if fw == REFERENCE:
        return out
    system = load(fw)
    if not system.available():
        return [CheckResult("all", fw, "skipped", f"not installed ({system.install_hint})")]
    worker = executor_for(fw, timeout=120, env=worker_env)
    try:
        hello = worker.start()
        if not hello.available:
            return [CheckResult("all", fw, "skipped", hello.error or "unavailable")]
        mine = adjoint(worker, system) + gradient(worker, system) + shapes(worker, system)
        return [_known(r, bugs or [], hello, hits) for r in mine]
    finally:
        worker.stop()


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
               hits: set[str] | None = None, worker_env: dict[str, str] | None = None,
               progress: Progress | None = None) -> list[CheckResult]:
    bugs = knownbugs.load(frameworks) if bugs is None else bugs
    on_reference = reference_checks()
    if progress:
        progress(on_reference)
    return on_reference + framework_checks(frameworks, bugs, hits, worker_env, progress)
