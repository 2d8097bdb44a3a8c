"""Reading one case mapping's fields into typed values, each problem a positioned `CaseError`.

`Fields` reads a field and, instead of stopping at the first problem, records it (`errors`) and
returns a stand-in, so that `convtx validate` can report every structural mistake of a case at once.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from convtx.harness.caseformat.case import Expected, Source, Tolerance
from convtx.harness.caseformat.tensorparse import TensorReader, number
from convtx.harness.caseformat.yamlsrc import SDict, SList
from convtx.harness.core.errors import CaseError, Mark

T = TypeVar("T")
_KINDS: dict[type, str] = {SDict: "a mapping", SList: "a list"}


def kind_of(value: Any) -> str:
    if value is None:
        return "an empty document"
    return _KINDS.get(type(value), f"the scalar {value!r}")


def similar(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    if a == b or a.rstrip("s") == b.rstrip("s"):
        return True
    if abs(len(a) - len(b)) > 2:
        return False
    common = sum(1 for x, y in zip(a, b) if x == y)
    return common >= max(len(a), len(b)) - 2


def plain(value: Any) -> Any:
    """SDict/SList -> plain dict/list (args are handed to dialects as ordinary data)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class Fields:
    """Field readers for one case mapping, producing positioned errors (collected by `read`)."""

    def __init__(self, data: SDict):
        self.data = data
        self.errors: list[CaseError] = []

    def read(self, reader: Callable[..., T], *args: Any, stand_in: Any = None, **kwargs: Any) -> T:
        """reader(*args) or, when it raises a CaseError, the error recorded and `stand_in` returned."""
        try:
            return reader(*args, **kwargs)
        except CaseError as err:
            self.errors.append(err)
            return stand_in

    def error(self, key: str, message: str, *, at_key: bool = False) -> CaseError:
        marks = self.data.key_marks if at_key else self.data.value_marks
        return CaseError(marks.get(key, self.data.mark), message, field=key)

    def choice(self, key: str, choices, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value not in choices or not isinstance(value, str):
            raise self.error(key, f"{value!r} is not supported (expected one of: {', '.join(choices)})")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def text(self, key: str) -> str:
        value = self.data.get(key, "")
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.error(key, f"expected text, got {kind_of(value)} (quote it if it is meant as text)")
        return value


def expected(data: SDict, reader: TensorReader) -> Expected:
    value = data["expected"]
    if isinstance(value, SDict) and "invalid" in value:
        if set(value) != {"invalid"} or not isinstance(value["invalid"], str) or not value["invalid"]:
            raise CaseError(value.value_marks.get("invalid", value.mark),
                            "expected {invalid: reason} takes only a non-empty reason text",
                            field="expected.invalid")
        return Expected("invalid", reason=value["invalid"])
    if isinstance(value, SDict) and set(value) == {"shape"}:
        return Expected("shape", shape=reader.shape(value, "shape", "expected.shape"))
    return Expected("tensor", tensor=reader.tensor(data, "expected"))


def tolerance(ctx: Fields) -> Tolerance | None:
    value = ctx.data.get("tolerance")
    if value is None:
        return None
    if not isinstance(value, SDict) or not value or set(value) - {"rtol", "atol"}:
        raise ctx.error("tolerance", "expected a mapping with rtol and/or atol, e.g. {rtol: 1.0e-5, atol: 1.0e-6}")
    dtype = ctx.data.get("dtype", "float32")
    from convtx.harness.caseformat.case import DEFAULT_TOLERANCE
    rtol, atol = DEFAULT_TOLERANCE.get(dtype, DEFAULT_TOLERANCE["float32"])
    parsed = {"rtol": rtol, "atol": atol}
    for key in value:
        parsed[key] = number(value[key], value.raw.get(key), value.value_marks[key], f"tolerance.{key}")
        if parsed[key] < 0:
            raise CaseError(value.value_marks[key], f"must be >= 0, got {parsed[key]}", field=f"tolerance.{key}")
    return Tolerance(parsed["rtol"], parsed["atol"])


def source(ctx: Fields) -> Source | None:
    value = ctx.data.get("source")
    if value is None:
        return None
    if not isinstance(value, SDict) or "document" not in value or set(value) - {"document", "where"}:
        raise ctx.error("source", "expected a mapping {document: ..., where: ...}")
    for key in value:
        if not isinstance(value[key], str):
            raise CaseError(value.value_marks[key], "expected text", field=f"source.{key}")
    return Source(value["document"], value.get("where", ""))


def tags(ctx: Fields) -> tuple[str, ...]:
    value = ctx.data.get("tags")
    if value is None:
        return ()
    if not isinstance(value, SList) or not all(isinstance(t, str) for t in value):
        raise ctx.error("tags", "expected a list of text tags, e.g. [stride, doc-example]")
    return tuple(value)


