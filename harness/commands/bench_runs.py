"""The whole-run half of `convtx bench`: `convtx run` cold, warm, with one new case, and where the cold
run's time goes per system.

Each run is a fresh process (`timed`: wall time and the peak RSS of its process tree) with its own
result store and compilation caches in a temporary folder (`CONVTX_STORE`, `CONVTX_CACHE_DIR`), so
"cold" means cold: nothing stored, nothing compiled.  In one bench run:

1. cold: every case through every system;
2. warm: the same again (every result from the store: nothing should start);
3. one new case: the suite plus one case file, after the warm run;
4. one new case in `convtx watch`: a watch of the suite with its workers warm (after the runs above:
   everything stored), then another new case written; the time from writing it to the end of the
   re-run the watch makes (warm workers: no import; a compilation of the new shape, its calls);
5. profiled cold: a fresh store, workers started with `CONVTX_PROFILE_CALLS=1` (each call made twice),
   whose per-system timings the store records: import (the worker's start: its framework), compile
   (first call minus the same call again, summed), compute (the rest of the time in the calls) and IPC
   (round trips minus the time in the worker).  Its wall time is not a figure (the repeated calls
   lengthen it); run 1 is.
Ratios are to the slowest framework import measured in the same bench run.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from convtx.harness.commands.bench_layers import Figure

NEW_CASE = """- id: bench-new-case
  title: a case no store has seen (k5 s3 p2 op1, 2-D)
  framework: torch
  args: {stride: 3, padding: 2, output_padding: 1}
  input: {shape: [1, 2, 4, 5], random: 11}
  weight: {shape: [2, 3, 5, 5], random: 12}
  expected: {shape: [1, 3, 11, 14]}
"""
WATCHED_CASE = NEW_CASE.replace("bench-new-case", "bench-watch-case").replace("random: 11", "random: 21")
COMPONENTS = ("import", "compile", "compute", "ipc")
WARM_RUNS = 5


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
        warms = sorted((_run(timed, cases, env, tmp) for _ in range(WARM_RUNS)), key=lambda r: r[0])
        warm = warms[WARM_RUNS // 2]  # the median: a re-run takes about a second, and seconds here are noisy
        edited = "; convtx's code was edited during the cold run: this re-run could not be warm" \
            if _code() != code else ""
        grown = os.path.join(tmp, "cases")
        shutil.copytree(cases, grown)
        with open(os.path.join(grown, "bench-new-case.yaml"), "w", encoding="utf-8") as fh:
            fh.write(NEW_CASE)
        new = _run(timed, grown, env, tmp)
        watched = watch_figure(grown, env, tmp, base, imp)
    figures = [
        Figure("whole run / slowest framework import", cold[0] / imp, "<= 3.0",
               detail=f"cold run {cold[0]:.1f} s (exit {cold[1]}) {base}; {_store_line(cold[3])}"),
        Figure("whole run wall time (s)", cold[0], "report", detail=f"exit code {cold[1]}"),
        Figure("whole run peak RSS, largest process (MiB)", cold[2] / 1024 if cold[2] else None, "report",
               detail="ru_maxrss of the run's process tree"),
        Figure("re-run unchanged suite / slowest framework import", warm[0] / imp, "<= 0.2",
               detail=f"warm run {warm[0]:.2f} s, the median of {WARM_RUNS} ({warms[0][0]:.2f}-{warms[-1][0]:.2f} s; "
                      f"exit {warm[1]}) {base}; {_store_line(warm[3])}{edited}"),
        Figure("one new case after a warm run / slowest framework import", new[0] / imp, "<= 1.5",
               detail=f"`convtx run` {new[0]:.1f} s (exit {new[1]}): its workers import their frameworks {base}; "
                      f"{_store_line(new[3])}"),
        watched,
    ]
    return figures + breakdown_figures(cases, timed)


def watch_figure(cases: str, env: dict[str, str], cwd: str, base: str, imp: float) -> Figure:
    """A new case written into a `convtx watch` of the suite (workers warm): seconds until its re-run ends."""
    name = "one new case in `convtx watch` (workers warm) / slowest framework import"
    watch = WatchProcess([cases], env, cwd)  # every system, as the runs above
    try:
        watch.until("watch: run 1 done", 1800)
        watch.until("worker(s) warm", 600)
        t0 = time.perf_counter()
        with open(os.path.join(cases, "bench-watch-case.yaml"), "w", encoding="utf-8") as fh:
            fh.write(WATCHED_CASE)
        lines = watch.until("watch: run 2 done", 600)
        seconds = time.perf_counter() - t0
    except AssertionError as err:
        return Figure(name, None, "<= 1.5", detail=f"not measured: {str(err)[:300]}")
    finally:
        watch.stop()
    return Figure(name, seconds / imp, "<= 1.5", detail=f"{seconds:.1f} s from writing the file to the end of the "
                                                        f"re-run {base}; {_store_line(chr(10).join(lines))}")


class WatchProcess:
    """A `convtx watch` subprocess whose output lines (stdout and stderr) are read as they come."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, cwd: str | None = None):
        self.proc = subprocess.Popen([sys.executable, "-m", "convtx.harness", "watch", *args], env=env, cwd=cwd,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        self.cursor = self.start = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def until(self, text: str, timeout: float = 240.0) -> list[str]:
        """The lines read since the last call up to the first one containing text, or, if an earlier call
        read past it, that line (AssertionError with everything seen if none comes in time)."""
        earlier = [ln for ln in self.seen[:self.cursor] if text in ln]
        if earlier:
            return earlier
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.cursor == len(self.seen):
                try:
                    self.seen.append(self.lines.get(timeout=1.0))
                except queue.Empty:
                    continue
            self.cursor += 1
            if text in self.seen[self.cursor - 1]:
                got, self.start = self.seen[self.start:self.cursor], self.cursor
                return got
        raise AssertionError(f"no {text!r} within {timeout} s; output:\n" + "\n".join(self.seen[-40:]))

    def stop(self, timeout: float = 60.0) -> int | None:
        """Ctrl-C, and its exit code (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


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
