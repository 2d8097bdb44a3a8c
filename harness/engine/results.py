"""Verdicts and the JSON results file.

File format: `{"convtx": version, "partial": bool, "frameworks": {id: version or null},
"results": [{"case", "framework", "status", "shape", "expected_shape", "max_abs_error", "call",
"note", ...}]}`.  Files are written atomically (temp file + rename) so an interrupted run never
leaves half a file behind.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from convtx.harness.core.files import write_atomic

STATUSES = ("pass", "mismatch", "shape_mismatch", "not_expressible", "unsupported", "invalid", "error",
            "timeout", "skipped", "xfail")
FAILING = ("mismatch", "shape_mismatch", "error", "timeout")
OUTPUT_VALUES_LIMIT = 4096  # outputs up to this many elements are kept in the results for the report


@dataclass
class Result:
    case: str
    framework: str
    status: str
    shape: list[int] | None = None
    expected_shape: list[int] | None = None
    max_abs_error: float | None = None
    call: str | None = None
    note: str = ""
    weight_conversion: str | None = None
    output: list | None = None  # the output in the case's layout, when small enough
    naive_port: str = ""  # semantics note: what carrying the case's arguments over by name gives
    diagnosis: str = ""  # for a verdict that is not a pass: why, as a sentence a user can act on

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunResults:
    frameworks: dict[str, str | None] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)
    partial: bool = False
    environment: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)  # the mathematical checks, if run
    label: str = ""  # the run's name among others (`--label`: a machine, a venv, a CI job)
    suite: str = ""  # the suite's fingerprint (caseformat.fingerprint): shards of one suite share it
    shard: str = ""  # "i/n" for one shard of a run, "" for a whole run
    convtx: str = ""  # the version that wrote the file (when read back)

    def to_json(self) -> dict[str, Any]:
        from convtx import __version__
        return {"convtx": self.convtx or __version__, "partial": self.partial, "label": self.label,
                "suite": self.suite, "shard": self.shard, "frameworks": self.frameworks,
                "environment": self.environment, "results": [r.to_json() for r in self.results],
                "checks": self.checks}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunResults":
        fields = set(Result.__dataclass_fields__)
        results = [Result(**{k: v for k, v in r.items() if k in fields}) for r in data["results"]]
        return cls(dict(data.get("frameworks", {})), results, bool(data.get("partial", False)),
                   dict(data.get("environment", {})), list(data.get("checks", [])), str(data.get("label", "")),
                   str(data.get("suite", "")), str(data.get("shard", "")), str(data.get("convtx", "")))

    def counts(self) -> dict[str, dict[str, int]]:
        """framework -> status -> count."""
        table: dict[str, dict[str, int]] = {}
        for r in self.results:
            row = table.setdefault(r.framework, {})
            row[r.status] = row.get(r.status, 0) + 1
        return table

    def failing(self) -> list[Result]:
        return [r for r in self.results if r.status in FAILING]




def write_json(path: str, run: RunResults) -> None:
    write_atomic(path, json.dumps(run.to_json(), indent=1, allow_nan=True) + "\n")


def read_json(path: str) -> RunResults:
    with open(path, encoding="utf-8") as fh:
        return RunResults.from_json(json.load(fh))
