"""The report's code to paste: per case and target framework, the snippet `convtx translate` prints.

`code_views(entry)` says a valid case's call in every framework (`semantics.FRAMEWORKS`) through the one
writer of runnable code, `analysis.snippets.snippet` (with the case's own framework running the case's
arguments as written, as `translate` does for its source row): the snippet's native arguments, what it does
besides the native call, its hazards (shipped known bugs and builds' refusals, with their links) and the
alternative that avoids them; a framework no snippet can say gets the reason.  Each snippet takes `x`, `w`
(and `b`) as NumPy arrays in the *case's* layouts and leaves `y` in the case's output layout.

Besides the snippet's own hazards (known bugs whose `when` describes the call), a case's row also names the
shipped known bugs filed against that very case (`cases: [id]`, e.g. the XLA abort of
found-jax-xla-check-failure), for the target writer's systems: the run's verdict for that cell is the bug.

tests/frameworks/test_snippets.py runs every `code_views` snippet and alternative of the suite's cases in the
real frameworks: what the report prints is what is run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from convtx.harness import semantics
from convtx.harness.analysis import snippets
from convtx.harness.caseformat.casefile import Entry

__all__ = ["CodeView", "HazardView", "case_hazards", "code_views", "layout_note"]


@dataclass
class HazardView:
    text: str  # Hazard.text() without its link: "known bug (tf) [onednn=True]: reason", as translate prints it
    link: str  # shown after the text, in parentheses, as translate prints it
    kind: str  # known_bug | unsupported
    error: str = ""  # a regular expression on the error it gives ("" for a wrong result, or unknown)


@dataclass
class CodeView:
    framework: str
    code: str = ""  # runs as printed: x, w (b) in the case's layouts -> y in the case's output layout
    native_args: str = ""  # the arguments of the call the snippet makes
    steps: str = ""  # what the snippet does besides the native call ("" = the native call alone)
    hazards: list[HazardView] = field(default_factory=list)
    alternative: str = ""  # code avoiding the hazards, when a route without any exists
    alternative_args: str = ""
    alternative_steps: str = ""
    missing: str = ""  # why there is no snippet

    @property
    def summary(self) -> str:
        """One line for the collapsed <details>: the native call alone, or what else the code does."""
        if not self.code:
            return "no code"
        return "the native call" if not self.steps else "native call + NumPy: " + self.steps


def _args(args: dict | None) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in (args or {}).items()) or "(defaults)"


@lru_cache(maxsize=None)
def _case_bugs(systems: tuple[str, ...]) -> tuple:
    """The shipped known bugs of `systems` filed against particular cases (a broken file is `run`'s to report)."""
    from convtx.harness.engine import knownbugs
    try:
        return tuple(bug for bug in knownbugs.load(systems) if bug.cases)
    except Exception:
        return ()


def case_hazards(entry: Entry, framework: str) -> list[HazardView]:
    """The shipped known bugs of `framework`'s snippet systems that name this case (and whose `when`, if any,
    holds for the case's call in that framework)."""
    from convtx.harness.engine.knownbugs import CellFacts
    from convtx.harness.semantics.snippet_writers import WRITERS
    writer, case = WRITERS.get(framework), entry.case
    if writer is None:
        return []
    said = entry.understood if framework == case.framework else semantics.express(framework, entry.understood.geometry)
    args = dict(said.args) if isinstance(said, semantics.Reading) else {}
    out = []
    for bug in _case_bugs(tuple(writer.systems)):  # each with a `cases` list: describes() matches it, then `when`
        if not bug.describes(CellFacts(case.id, bug.system, entry.understood.geometry, args)):
            continue
        out.append(HazardView(f"known bug ({bug.system}) [this case]: {bug.reason}", bug.link, "known_bug", bug.error or ""))
    return out


def code_view(entry: Entry, framework: str) -> CodeView:
    """The snippet saying the case's call in `framework` (the case's own framework: its arguments as written)."""
    reading, own = entry.understood, framework == entry.case.framework
    view = CodeView(framework)
    try:
        said = snippets.snippet(framework, reading, own)
    except Exception as err:  # a report must render even where a writer fails; the snippet test finds it
        view.missing = f"no snippet: {type(err).__name__}: {err}"
        return view
    if said is None:
        target = semantics.express(framework, reading.geometry)
        reason = target.reason if isinstance(target, semantics.NotExpressible) else "no snippet writer for it"
        view.missing = f"no code: {reason}"
        return view
    view.code, view.native_args, view.steps = said.code, _args(said.native_args), said.steps
    view.hazards = [HazardView(h.text().removesuffix(f" ({h.link})"), h.link, h.kind, h.error) for h in said.hazards]
    view.hazards += case_hazards(entry, framework)
    if said.alternative:
        view.alternative, view.alternative_args = said.alternative, _args(said.alternative_args)
        view.alternative_steps = said.alternative_steps
    return view


def code_views(entry: Entry) -> dict[str, CodeView]:
    """Per framework (semantics.FRAMEWORKS order), the code to paste for a valid case."""
    return {fw: code_view(entry, fw) for fw in semantics.FRAMEWORKS}


def layout_note(entry: Entry) -> str:
    """What the snippets take and give, e.g. `x (N, C_in, H, W), w (C_in, C_out, kh, kw): NumPy arrays in
    torch's layouts; y (N, C_out, H, W)`."""
    return snippets.layout_note(entry.understood, entry.case.framework)
