"""Known framework bugs: per-framework xfail lists, matched by case id.

Each adapter may have `adapters/xfails/<adapter id>.txt`: one entry per line,
`<case id or glob> | <reason> | <upstream link>`, `#` starts a comment.  A failing verdict that
matches becomes `xfail` (the reason and link in its note); a matching verdict that passes is kept
as `pass` and flagged `XPASS`; an entry that matches no case is a warning.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass

from .results import FAILING, Result



@dataclass(frozen=True)
class XfailEntry:
    framework: str
    pattern: str
    reason: str
    link: str
    where: str

    def matches(self, case_id: str) -> bool:
        return fnmatch.fnmatchcase(case_id, self.pattern)


def _folder() -> str:
    from .. import adapters
    return os.path.join(os.path.dirname(adapters.__file__), "xfails")


def load_xfails(frameworks: list[str], folder: str | None = None) -> list[XfailEntry]:
    folder = folder or _folder()
    entries = []
    for fw in frameworks:
        path = os.path.join(folder, f"{fw}.txt")
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                line = "" if line.lstrip().startswith("#") else line.strip()
                if not line:
                    continue
                parts = [p.strip() for p in line.split("|")]
                if len(parts) != 3 or not all(parts):
                    raise ValueError(f"{path}:{n}: expected '<case id> | <reason> | <link>'")
                entries.append(XfailEntry(fw, parts[0], parts[1], parts[2], f"{path}:{n}"))
    return entries


def apply(result: Result, entries: list[XfailEntry]) -> Result:
    for e in entries:
        if e.framework == result.framework and e.matches(result.case):
            if result.status in FAILING:
                result.note = f"known {e.framework} bug: {e.reason} ({e.link}); {result.note}"
                result.status = "xfail"
            elif result.status == "pass":
                result.note = f"XPASS: listed as a known bug ({e.reason}, {e.link}) but passes. {result.note}"
            break
    return result


def unmatched(entries: list[XfailEntry], case_ids: list[str]) -> list[str]:
    return [f"{e.where}: xfail entry '{e.pattern}' matches no case" for e in entries
            if not any(e.matches(c) for c in case_ids)]
