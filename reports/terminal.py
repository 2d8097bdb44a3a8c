"""The terminal output of `convtx run`: a progress bar on a TTY, then a compact summary.

The summary is a frameworks x statuses table followed by one line per result that needs
attention (mismatch, shape_mismatch, error, timeout, invalid), each with its note.
"""

from __future__ import annotations

import sys

from convtx.harness.engine.results import FAILING, STATUSES, Result, RunResults

ATTENTION = (*FAILING, "invalid")


class Printer:
    def __init__(self, quiet: bool = False, stream=None, total: int | None = None):
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.total = total
        self.done = 0

    def progress(self, result: Result) -> None:
        self.done += 1
        if self.tty and not self.quiet:
            total = self.total or 0
            width = 30
            filled = int(width * self.done / total) if total else 0
            bar = "#" * filled + "." * (width - filled)
            count = f"{self.done}/{total}" if total else str(self.done)
            self.stream.write(f"\r[{bar}] {count} {result.framework:<8} {result.case[:40]:<40}")
            self.stream.flush()

    def summary(self, run: RunResults) -> None:
        if self.tty and not self.quiet and self.done:
            self.stream.write("\r" + " " * 100 + "\r")
        self.stream.write(render_summary(run, details=not self.quiet))
        self.stream.flush()


def render_summary(run: RunResults, details: bool = True) -> str:
    counts = run.counts()
    used = [s for s in STATUSES if any(s in row for row in counts.values())]
    lines = []
    if details:
        for r in run.results:
            if r.status in ATTENTION:
                lines.append(f"{r.status.upper():<15} {r.framework:<8} {r.case}: {r.diagnosis or r.note}")
                if r.diagnosis:
                    lines.append(f"{'':<24} {r.note}")
        if lines:
            lines.append("")
    width = max([len(fw) for fw in counts] + [9])
    vwidth = max([len(run.frameworks.get(fw) or "-") for fw in counts] + [7])
    header = f"{'framework':<{width}}  {'version':<{vwidth}}" + "".join(f"{s:>{len(s) + 2}}" for s in used)
    lines.append(header)
    for fw, row in counts.items():
        version = run.frameworks.get(fw) or "-"
        lines.append(f"{fw:<{width}}  {version:<{vwidth}}" + "".join(f"{row.get(s, 0):>{len(s) + 2}}" for s in used))
    refused = [r for r in run.results if r.status == "unsupported"]
    if refused:
        names = ", ".join(f"{r.framework}: {r.case}" for r in refused[:6]) + (", ..." if len(refused) > 6 else "")
        lines.append(f"unsupported (refused by this build/device, not failures): {len(refused)} ({names})")
    n_cases = len({r.case for r in run.results})
    failing = len(run.failing())
    verdict = "all conform" if not failing else f"{failing} result(s) do not conform"
    partial = " (PARTIAL: the run was interrupted)" if run.partial else ""
    lines.append(f"{n_cases} case(s), {len(run.results)} result(s): {verdict}{partial}")
    return "\n".join(lines) + "\n"
