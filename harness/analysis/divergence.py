"""Where environments disagree: the same case on the same system, run in different environments
(variants such as `tf[onednn=0]` / `tf[onednn=1]`, or runs merged from different machines or versions,
`system@label`), with a different verdict or a different max error.

A system's *base* is its id without variants and label (`tf[onednn=0]@ci-avx2` -> `tf`); every column
of one base is compared with the others on each case.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from convtx.adapters import split_id
from convtx.harness.engine.results import RunResults


@dataclass(frozen=True)
class Divergence:
    case: str
    system: str  # the base id
    verdicts: dict[str, str]  # column -> "status" or "status (max error e)"

    def to_json(self) -> dict:
        return asdict(self)


def base_of(column: str) -> str:
    return split_id(column.split("@", 1)[0])[0]


def divergences(run: RunResults) -> list[Divergence]:
    """Cases whose verdicts differ across the columns of one base system (one row per case and base)."""
    cells: dict[tuple[str, str], dict[str, tuple[str, float | None]]] = {}
    for r in run.results:
        cells.setdefault((r.case, base_of(r.framework)), {})[r.framework] = (r.status, r.max_abs_error)
    out = []
    for (case, base), by_column in cells.items():
        if len(by_column) > 1 and len(set(by_column.values())) > 1:
            out.append(Divergence(case, base, {col: _said(*v) for col, v in sorted(by_column.items())}))
    return out


def _said(status: str, error: float | None) -> str:
    return f"{status} (max error {error:.3g})" if error is not None else status
