"""The mathematical checks run through the real frameworks (each in its worker), and `convtx check`.

For each framework: the adjoint identity with its own forward and transposed calls, the gradient
form (for adapters with `input_gradient`: torch.autograd, jax.vjp, tf.GradientTape), and the output
shapes of Dumoulin & Visin's relationships 8-14.  See `checks` for the reference side.
"""

from __future__ import annotations

import json

import numpy as np

from ..adapters import ADAPTERS, REFERENCE, load
from . import semantics
from .checks import SAMPLES, CheckResult, _data, as_json, pair, reference_checks, shape_geometry, shape_table
from .workers import Worker


def _said(adapter, g):
    """The framework's reading of geometry g (express, or the adapter's fallback), or a reason."""
    reading = semantics.express(adapter.DIALECT, g)
    if isinstance(reading, semantics.NotExpressibleHere):
        fallback = getattr(adapter, "fallback", None)
        other = fallback(g) if fallback else None
        return (other, other.op, dict(other.args)) if other is not None else (reading.reason, None, None)
    return reading, g.op, dict(reading.given)


def _dtype(adapter, op, g, args) -> str:
    limit = getattr(adapter, "unsupported", None)
    return "float32" if limit and limit(op, g, "float64", args or {}) else "float64"


def _limit(adapter, op, g, dtype, args) -> str | None:
    limit = getattr(adapter, "unsupported", None)
    return limit(op, g, dtype, args) if limit else None


def _run(worker, adapter, g, x, w):
    """(canonical output, None, dtype) or (None, (status, why), dtype)."""
    reading, op, args = _said(adapter, g)
    if args is None:
        return None, ("not_expressible", reading), None
    dtype = _dtype(adapter, op, g, args)
    why = _limit(adapter, op, g, dtype, args)
    if why:
        return None, ("not_expressible", why), dtype
    reply = worker.call(op, args, reading.from_canonical_input(x), reading.from_canonical_weight(w), None, dtype)
    if reply.kind != "ok":
        return None, ("error", reply.message), dtype
    return reading.to_canonical_output(reply.output), None, dtype


def adjoint(worker, adapter, fw: str) -> list[CheckResult]:
    out = []
    for n, sample in enumerate(SAMPLES):
        fwd, tr = pair(sample)
        x, w, y = _data(fwd, n)
        cx, why1, dt1 = _run(worker, adapter, fwd, x, w)
        ty, why2, dt2 = _run(worker, adapter, tr, y, w)
        dt = "float64" if dt1 == dt2 == "float64" else "float32"
        if cx is None or ty is None:
            status, why = why1 or why2
            out.append(CheckResult(f"adjoint-{n}", fw, status, f"{fwd.describe()}: {why}"))
            continue
        lhs, rhs = float(np.vdot(cx, y)), float(np.vdot(x, ty))
        rel = abs(lhs - rhs) / max(abs(lhs), 1e-300)
        limit = 1e-10 if dt == "float64" else 1e-4
        out.append(CheckResult(f"adjoint-{n}", fw, "pass" if rel < limit else "fail",
                               f"{fwd.describe()} in {dt1}/{dt2}: <conv(x,w),y> = {lhs:.10g}, <x,conv_T(y,w)> = {rhs:.10g} "
                               f"(relative difference {rel:.1e}, allowed {limit:g})"))
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
        dtype = _dtype(adapter, op, fwd, args)
        reply = worker.invoke("input_gradient", args=args, x=reading.from_canonical_input(x),
                              w=reading.from_canonical_weight(w), cotangent=reading.from_canonical_output(y), dtype=dtype)
        if reply.kind != "ok":
            out.append(CheckResult(f"gradient-{n}", fw, "error", f"{fwd.describe()}: {reply.message}"))
            continue
        grad = reading.to_canonical_input(reply.output)
        want = numpy_ref_transpose(y, w, tr)
        err = float(np.max(np.abs(grad - want))) if grad.shape == want.shape else float("inf")
        limit = 1e-10 if dtype == "float64" else 1e-4
        out.append(CheckResult(f"gradient-{n}", fw, "pass" if err < limit else "fail",
                               f"{fwd.describe()} in {dtype}: d<conv(x,w),y>/dx vs the reference conv_transpose(y, w): "
                               f"max abs difference {err:.1e} (allowed {limit:g})"))
    return out


def numpy_ref_transpose(y, w, tr):
    from ..adapters import numpy_ref
    return numpy_ref.conv_transpose(y, w, None, tr)


def shapes(worker, adapter, fw: str) -> list[CheckResult]:
    out = []
    for r in shape_table():
        g = shape_geometry(r)
        got, why, _ = _run(worker, adapter, g, np.ones(g.input_shape), np.ones(g.weight_shape))
        name = f"shape-rel-{r['relationship']}"
        if got is None:
            out.append(CheckResult(name, fw, why[0], why[1]))
            continue
        ok = got.shape[2:] == (r["expected"], r["expected"])
        out.append(CheckResult(name, fw, "pass" if ok else "fail", f"{r['formula']} = {r['expected']}; {fw} gives "
                               f"{'x'.join(map(str, got.shape[2:]))}"))
    return out


def framework_checks(frameworks: list[str]) -> list[CheckResult]:
    out = []
    for fw in frameworks:
        if fw == REFERENCE:
            continue
        adapter = load(fw)
        if not adapter.available():
            out.append(CheckResult("all", fw, "skipped", f"not installed ({adapter.INSTALL_HINT})"))
            continue
        worker = Worker(fw, timeout=120)
        try:
            hello = worker.start()
            if not hello.available:
                out.append(CheckResult("all", fw, "skipped", hello.error or "unavailable"))
                continue
            out += adjoint(worker, adapter, fw) + gradient(worker, adapter, fw) + shapes(worker, adapter, fw)
        finally:
            worker.stop()
    return out


def all_checks(frameworks: list[str]) -> list[CheckResult]:
    from . import xfail
    from .checks import apply_xfails
    return apply_xfails(reference_checks() + framework_checks(frameworks), xfail.load_xfails(frameworks))


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="the mathematical checks: adjoint identity, gradient form, shape arithmetic")
    p.add_argument("--frameworks", help="comma-separated ids (default: every adapter)")
    p.add_argument("--json", metavar="FILE")


def run(args) -> int:
    from .errors import UsageError
    from .results import write_atomic

    names = [f.strip() for f in (args.frameworks or "").split(",") if f.strip()] or list(ADAPTERS)
    unknown = [f for f in names if f not in ADAPTERS]
    if unknown:
        raise UsageError(f"--frameworks: unknown {', '.join(unknown)} (known: {', '.join(ADAPTERS)})")
    results = all_checks(names)
    width = max(len(r.check) for r in results)
    for r in results:
        print(f"{r.status.upper():<16} {r.check:<{width}}  {r.framework:<12} {r.detail}")
    failed = [r for r in results if r.status in ("fail", "error")]
    print(f"{len(results)} check(s): {len(failed)} failed")
    if args.json:
        write_atomic(args.json, json.dumps(as_json(results), indent=1) + "\n")
    return 1 if failed else 0
