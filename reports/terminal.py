"""The terminal output of `convtx run` and `convtx fuzz`: a line as workers start, progress, a summary.

Progress: a transient bar on a TTY (rich), otherwise one line at least every 10 s.  The summary
names each case that needs attention once, with the systems it concerns (a failure shared by five
systems is one line, an invalid case file one line), then a systems x statuses table, then one
verdict line that always agrees with the exit code.  Colour only on a TTY, and never with NO_COLOR
(rich's own rules); without a TTY the text is plain.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from convtx.harness.engine.results import FAILING, STATUSES, Result, RunResults

ATTENTION = (*FAILING, "invalid")
STYLE = {"pass": "green", "mismatch": "bold red", "shape_mismatch": "bold red", "error": "bold red",
         "timeout": "bold red", "invalid": "bold magenta", "xfail": "yellow", "unsupported": "blue",
         "not_expressible": "dim", "skipped": "dim"}
QUIET_PROGRESS_SECONDS = 10.0


@dataclass
class Verdict:
    """What the final line says, and so what the exit code is."""

    failing: int = 0
    invalid: int = 0
    failed_checks: int = 0
    stopped_early: bool = False

    def ok(self) -> bool:
        return not (self.failing or self.invalid or self.failed_checks)


class Printer:
    def __init__(self, quiet: bool = False, stream: TextIO | None = None, total: int | None = None):
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self.last_line = self.started
        self._bar: Any = None

    def console(self):
        from rich.console import Console
        return Console(file=self.stream, highlight=False, soft_wrap=True)

    def starting(self, systems: list[str]) -> None:
        """Said at once, before any worker has imported its framework."""
        if not self.quiet:
            self.stream.write(f"starting {len(systems)} system(s): {', '.join(systems)} "
                              "(each in its own worker; the first results follow their imports)\n")
            self.stream.flush()

    def progress(self, result: Result) -> None:
        self.done += 1
        if self.quiet:
            return
        if self.tty:
            self._tick_bar(result)
        elif time.monotonic() - self.last_line >= QUIET_PROGRESS_SECONDS:
            self.last_line = time.monotonic()
            total = f"/{self.total}" if self.total else ""
            self.stream.write(f"  {self.done}{total} results ({self.last_line - self.started:.0f} s)\n")
            self.stream.flush()

    def _tick_bar(self, result: Result) -> None:
        if self._bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            self._bar = Progress(BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.description}"), console=self.console(), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("", total=self.total)
        self._bar.update(self._task, advance=1, description=f"{result.framework} {result.case[:40]}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def summary(self, run: RunResults, verdict: Verdict | None = None) -> None:
        self.close()
        text = render_summary(run, details=not self.quiet, verdict=verdict)
        if self.tty:
            console = self.console()
            for line in text.splitlines():
                console.print(line, style=_style_of(line), markup=False)
        else:
            self.stream.write(text)
        self.stream.flush()


def _style_of(line: str) -> str | None:
    word = line.split(" ", 1)[0].lower()
    if word in STYLE:
        return STYLE[word]
    if "do not conform" in line or "invalid case" in line or "check(s) failed" in line:
        return "bold red"
    return "green" if line.endswith("all conform") else None


@dataclass
class _Group:
    status: str
    case: str
    text: str
    systems: list[str] = field(default_factory=list)
    detail: str = ""


def attention_lines(run: RunResults) -> list[str]:
    """One line per case and kind of problem, naming every system it concerns."""
    groups: dict[tuple[str, str, str], _Group] = {}
    for r in run.results:
        if r.status not in ATTENTION:
            continue
        text = r.note if r.status == "invalid" else (r.diagnosis or r.note)
        key = (r.case, r.status, _without_call(text).replace(r.framework, "{system}"))
        group = groups.setdefault(key, _Group(r.status, r.case, text, detail=r.note if r.diagnosis else ""))
        group.systems.append(r.framework)
    lines = []
    for g in groups.values():
        who = "every system" if g.status == "invalid" else ", ".join(g.systems)
        lines.append(f"{g.status.upper():<15} {g.case} [{who}]: {g.text}")
        if g.detail and len(g.systems) == 1:
            lines.append(f"{'':<16}{g.detail}")
    return lines


def _without_call(text: str) -> str:
    """A note without its trailing `[the call]` (which differs per system for one shared cause)."""
    return text[:text.rindex(" [")] if text.endswith("]") and " [" in text else text


def render_summary(run: RunResults, details: bool = True, verdict: Verdict | None = None) -> str:
    verdict = verdict or Verdict(failing=len(run.failing()))
    lines = attention_lines(run) if details else []
    if lines:
        lines.append("")
    lines += _table(run)
    refused = [r for r in run.results if r.status == "unsupported"]
    if refused:
        names = ", ".join(f"{r.framework}: {r.case}" for r in refused[:6]) + (", ..." if len(refused) > 6 else "")
        lines.append(f"unsupported (refused by this build/device, not failures): {len(refused)} ({names})")
    lines.append(final_line(run, verdict))
    return "\n".join(lines) + "\n"


def _table(run: RunResults) -> list[str]:
    counts = run.counts()
    used = [s for s in STATUSES if any(s in row for row in counts.values())]
    width = max([len(fw) for fw in counts] + [9])
    vwidth = max([len(run.frameworks.get(fw) or "-") for fw in counts] + [7])
    lines = [f"{'framework':<{width}}  {'version':<{vwidth}}" + "".join(f"{s:>{len(s) + 2}}" for s in used)]
    for fw, row in counts.items():
        version = run.frameworks.get(fw) or "-"
        lines.append(f"{fw:<{width}}  {version:<{vwidth}}" + "".join(f"{row.get(s, 0):>{len(s) + 2}}" for s in used))
    return lines


def final_line(run: RunResults, verdict: Verdict) -> str:
    n_cases = len({r.case for r in run.results})
    problems = []
    if verdict.failing:
        problems.append(f"{verdict.failing} result(s) do not conform")
    if verdict.invalid:
        problems.append(f"{verdict.invalid} invalid case(s) or file(s), not run")
    if verdict.failed_checks:
        problems.append(f"{verdict.failed_checks} check(s) failed")
    said = "; ".join(problems) if problems else "all conform"
    if verdict.stopped_early:
        said += " (stopped after the first failure: -x)"
    partial = " (PARTIAL: the run was interrupted)" if run.partial else ""
    return f"{n_cases} case(s), {len(run.results)} result(s): {said}{partial}"
