"""The whole-run half of `convtx bench`: `convtx run` cold, warm, with one new case, and where the cold
run's time goes per system.

Each run is a fresh process (`timed`: wall time and the peak RSS of its process tree) with its own
result store and compilation caches in a temporary folder (`CONVTX_STORE`, `CONVTX_CACHE_DIR`), so
"cold" means cold: nothing stored, nothing compiled.  In one bench run:

1. cold: every case through every system;
2. warm: the same again (every result from the store: nothing should start);
3. one new case: the suite plus one case file, after the warm run;
4. profiled cold: a fresh store, workers started with `CONVTX_PROFILE_CALLS=1` (each call made twice),
   whose per-system timings the store records: import (the worker's start: its framework), compile
   (first call minus the same call again, summed), compute (the rest of the time in the calls) and IPC
   (round trips minus the time in the worker).  Its wall time is not a figure (the repeated calls
   lengthen it); run 1 is.
Ratios are to the slowest framework import measured in the same bench run.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

from convtx.harness.commands.bench_layers import Figure

NEW_CASE = """- id: bench-new-case
  title: a case no store has seen (k5 s3 p2 op1, 2-D)
  framework: torch
  args: {stride: 3, padding: 2, output_padding: 1}
  input: {shape: [1, 2, 4, 5], random: 11}
  weight: {shape: [2, 3, 5, 5], random: 12}
  expected: {shape: [1, 3, 11, 14]}
"""
COMPONENTS = ("import", "compile", "compute", "ipc")


def _env(folder: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVTX_")}
    env.update(CONVTX_STORE=os.path.join(folder, "store.sqlite"), CONVTX_CACHE_DIR=os.path.join(folder, "cache"),
               **extra)
    return env


def _run(timed, cases: str, env: dict[str, str], cwd: str):
    return timed([sys.executable, "-m", "convtx.harness", "run", cases, "--quiet"], env=env, cwd=cwd, capture=True,
                 rss=True)


def _code() -> str:
    """The digest of the code verdicts depend on, now (a change invalidates every stored result)."""
    from convtx.harness.engine import keys
    return keys.code_digest.__wrapped__()


def _store_line(text: str) -> str:
    return next((ln for ln in text.splitlines() if ln.startswith("store:")), "no store line")


def run_figures(cases: str, slowest: tuple[str, float], timed) -> list[Figure]:
    """Cold, warm and new-case ratios to the slowest import, the cold run's RSS, and the breakdown."""
    name, imp = slowest
    base = f"/ import {name} {imp:.2f} s"
    cases = os.path.abspath(cases)
    with tempfile.TemporaryDirectory(prefix="convtx-bench-run-") as tmp:
        env = _env(tmp)
        code = _code()
        cold = _run(timed, cases, env, tmp)
        warm = _run(timed, cases, env, tmp)
        edited = "; convtx's code was edited during the cold run: this re-run could not be warm" \
            if _code() != code else ""
        grown = os.path.join(tmp, "cases")
        shutil.copytree(cases, grown)
        with open(os.path.join(grown, "bench-new-case.yaml"), "w", encoding="utf-8") as fh:
            fh.write(NEW_CASE)
        new = _run(timed, grown, env, tmp)
    figures = [
        Figure("whole run / slowest framework import", cold[0] / imp, "<= 3.0",
               detail=f"cold run {cold[0]:.1f} s (exit {cold[1]}) {base}; {_store_line(cold[3])}"),
        Figure("whole run wall time (s)", cold[0], "report", detail=f"exit code {cold[1]}"),
        Figure("whole run peak RSS, largest process (MiB)", cold[2] / 1024 if cold[2] else None, "report",
               detail="ru_maxrss of the run's process tree"),
        Figure("re-run unchanged suite / slowest framework import", warm[0] / imp, "<= 0.2",
               detail=f"warm run {warm[0]:.2f} s (exit {warm[1]}) {base}; {_store_line(warm[3])}{edited}"),
        Figure("one new case after a warm run / slowest framework import", new[0] / imp, "<= 1.5",
               detail=f"run {new[0]:.1f} s (exit {new[1]}) {base}; {_store_line(new[3])}"),
    ]
    return figures + breakdown_figures(cases, timed)


def breakdown_figures(cases: str, timed) -> list[Figure]:
    """Per system, seconds of import, compile, compute and IPC in a profiled cold run."""
    from convtx.harness.engine.store import Store
    with tempfile.TemporaryDirectory(prefix="convtx-bench-profile-") as tmp:
        wall, code, _, _ = _run(timed, cases, _env(tmp, CONVTX_PROFILE_CALLS="1"), tmp)
        store = Store.open(os.path.join(tmp, "store.sqlite"))
        timings = store.timings() if store is not None else {}
        if store is not None:
            store.close()
    if not timings:
        return [Figure("cold run breakdown", None, "report", detail=f"not measured: the profiled run (exit {code}) "
                                                                    "recorded no timings")]
    out = []
    for system in sorted(timings, key=lambda s: -timings[s].get("start", 0.0)):
        t = timings[system]
        calls = int(t.get("calls", 0))
        for part in COMPONENTS:
            detail = (f"{calls} calls, {int(t.get('profiled', 0))} profiled; worker start {t.get('start', 0):.2f} s "
                      f"wall; thread {t.get('wall', 0):.1f} s" if part == "import" else "")
            out.append(Figure(f"cold run: {system}: {part} (s)", t.get(part, 0.0), "report", detail=detail))
    return out
