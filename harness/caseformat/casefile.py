"""Loading and validating case files (format v1) into typed `Case`s and their canonical reading.

`load_suite(paths)` reads files and folders, validates every case structurally (keys, types,
tensors) and semantically (through the framework's dialect), checks ids are unique across files,
and returns the valid entries plus one `CaseError` per bad case: a bad case never stops the others.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from convtx.harness import semantics
from convtx.harness.caseformat.case import CASE_KEYS, REQUIRED_KEYS, Case, Expected, Source, Tolerance
from convtx.harness.core.errors import CaseError, InvalidArguments, Mark
from convtx.harness.core.problem import OPS
from convtx.harness.caseformat.tensorparse import TensorReader, number
from convtx.harness.core.tensors import DTYPES
from convtx.harness.caseformat.yamlsrc import SDict, SList, load_yaml

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")


@dataclass
class Entry:
    """A valid case, with its canonical reading, or the refusal it was declared to get."""

    case: Case
    reading: semantics.Reading | None
    refusal: InvalidArguments | None = None

    @property
    def understood(self) -> semantics.Reading:
        """The reading of a case its framework accepts; an error for a case declared (and found) invalid."""
        if self.reading is None:
            raise ValueError(f"case {self.case.id!r} is declared invalid: it has no reading")
        return self.reading


@dataclass
class Suite:
    entries: list[Entry] = field(default_factory=list)
    errors: list[CaseError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def case_files(paths: list[str]) -> list[str]:
    """Expand files and folders (recursively, *.yaml / *.yml, sorted) into a file list."""
    out: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                out.extend(os.path.join(root, f) for f in sorted(files) if f.endswith((".yaml", ".yml")))
        else:
            out.append(path)
    return out


def load_suite(paths: list[str]) -> Suite:
    suite = Suite(files=case_files(paths))
    seen: dict[str, Case] = {}
    for path in suite.files:
        for item in load_file(path):
            if isinstance(item, CaseError):
                suite.errors.append(item)
                continue
            case = item.case
            if case.id in seen:
                first = seen[case.id]
                suite.errors.append(CaseError(case.marks.get("id", case.mark),
                                              f"duplicate id (first defined at {first.marks.get('id')})",
                                              case_id=case.id, field="id"))
                continue
            seen[case.id] = case
            suite.entries.append(item)
    return suite


def load_file(path: str) -> list[Entry | CaseError]:
    try:
        if not os.path.isfile(path):
            raise CaseError(Mark(path, 1, 1), "no such case file")
        data = load_yaml(path)
    except CaseError as err:
        return [err]
    except (OSError, UnicodeDecodeError) as err:
        return [CaseError(Mark(path, 1, 1), f"cannot read: {err}")]
    if isinstance(data, SDict):
        items, marks = [data], [data.mark]
    elif isinstance(data, SList):
        items, marks = list(data), data.marks
    else:
        where = getattr(data, "mark", Mark(path, 1, 1))
        return [CaseError(where, "a case file holds one case (a mapping) or a list of cases "
                                 f"(mappings), got {_kind(data)}")]
    out: list[Entry | CaseError] = []
    for item, mark in zip(items, marks):
        try:
            out.append(validate(item, mark))
        except CaseError as err:
            out.append(err)
    return out


def validate_text(path: str, text: str) -> list[Entry]:
    """Validate YAML text as `convtx validate` would validate the file `path`; raise the first CaseError."""
    data = load_yaml(path, text)
    items, marks = ([data], [data.mark]) if isinstance(data, SDict) else (list(data), data.marks)
    return [validate(item, mark) for item, mark in zip(items, marks)]


_KINDS: dict[type, str] = {SDict: "a mapping", SList: "a list"}


def _kind(value: Any) -> str:
    if value is None:
        return "an empty document"
    return _KINDS.get(type(value), f"the scalar {value!r}")


def validate(data: Any, mark: Mark, *, pending_expected: bool = False) -> Entry:
    """One case mapping -> Entry. `pending_expected` (for `convtx new`) allows a missing expected."""
    if not isinstance(data, SDict):
        raise CaseError(mark, f"each case must be a mapping of keys (id, framework, ...), got {_kind(data)}")
    case_id = data.get("id") if isinstance(data.get("id"), str) else None
    try:
        case = _build_case(data, pending_expected)
        return _understand(case)
    except CaseError as err:
        raise err.with_context(case_id=case_id, mark=data.mark) from None


def _build_case(data: SDict, pending_expected: bool = False) -> Case:
    ctx = _Ctx(data)
    for key in data:
        if key not in CASE_KEYS:
            close = [k for k in CASE_KEYS if _similar(key, k)]
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ctx.error(key, f"unknown key {key!r} ({hint}keys are: {', '.join(CASE_KEYS)})", at_key=True)
    for key in REQUIRED_KEYS:
        if key not in data and not (pending_expected and key == "expected"):
            raise CaseError(data.mark, f"missing required key (a case needs {', '.join(REQUIRED_KEYS)})",
                            field=key)
    if not isinstance(data["id"], str) or not ID_PATTERN.match(data["id"]):
        raise ctx.error("id", f"{data['id']!r} is not a valid id (lowercase letters, digits, '.', '_', "
                              "'-', starting with a letter or digit)")
    framework = ctx.choice("framework", semantics.FRAMEWORKS)
    op = ctx.choice("op", OPS, default="conv_transpose")
    dtype = ctx.choice("dtype", DTYPES, default="float32")
    allow_nonfinite = ctx.boolean("allow_nonfinite", default=False)
    args = data.get("args", SDict())
    if args is None:
        args = SDict()
    if not isinstance(args, SDict):
        raise ctx.error("args", f"expected a mapping of {framework} argument names to values, got {_kind(args)}")
    reader = TensorReader(allow_nonfinite)
    marks = {"id": data.value_marks["id"]}
    for key, value_mark in data.value_marks.items():
        marks[key] = value_mark
    for key in args:
        marks[f"args.{key}"] = args.value_marks[key]
    return Case(
        id=data["id"], framework=framework, op=op, args=_plain(args),
        input=reader.tensor(data, "input"), weight=reader.tensor(data, "weight"),
        bias=reader.tensor(data, "bias") if data.get("bias") is not None else None,
        expected=_expected(data, reader) if "expected" in data else Expected("pending"),
        dtype=dtype, tolerance=_tolerance(ctx),
        title=ctx.text("title"), source=_source(ctx), notes=ctx.text("notes"), tags=_tags(ctx),
        allow_nonfinite=allow_nonfinite, path=data.mark.path, mark=data.mark, marks=marks)


def _similar(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    if a == b or a.rstrip("s") == b.rstrip("s"):
        return True
    if abs(len(a) - len(b)) > 2:
        return False
    common = sum(1 for x, y in zip(a, b) if x == y)
    return common >= max(len(a), len(b)) - 2


def _plain(value: Any) -> Any:
    """SDict/SList -> plain dict/list (args are handed to dialects as ordinary data)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _Ctx:
    """Field readers for one case mapping, producing positioned errors."""

    def __init__(self, data: SDict):
        self.data = data

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
            raise self.error(key, f"expected text, got {_kind(value)} (quote it if it is meant as text)")
        return value


def _expected(data: SDict, reader: TensorReader) -> Expected:
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


def _tolerance(ctx: _Ctx) -> Tolerance | None:
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


def _source(ctx: _Ctx) -> Source | None:
    value = ctx.data.get("source")
    if value is None:
        return None
    if not isinstance(value, SDict) or "document" not in value or set(value) - {"document", "where"}:
        raise ctx.error("source", "expected a mapping {document: ..., where: ...}")
    for key in value:
        if not isinstance(value[key], str):
            raise CaseError(value.value_marks[key], "expected text", field=f"source.{key}")
    return Source(value["document"], value.get("where", ""))


def _tags(ctx: _Ctx) -> tuple[str, ...]:
    value = ctx.data.get("tags")
    if value is None:
        return ()
    if not isinstance(value, SList) or not all(isinstance(t, str) for t in value):
        raise ctx.error("tags", "expected a list of text tags, e.g. [stride, doc-example]")
    return tuple(value)


def _understand(case: Case) -> Entry:
    """Run the case through its framework's dialect; check the expected shape against it."""
    bias_shape = case.bias.shape if case.bias is not None else None
    try:
        reading = semantics.read(case.framework, case.op, case.args, case.input.shape,
                                 case.weight.shape, case.bias is not None, bias_shape)
    except semantics.ArgError as err:
        raise CaseError(case.mark_of(err.field), err.message, case_id=case.id, field=err.field) from None
    except InvalidArguments as err:
        if case.expected.kind in ("invalid", "pending"):
            return Entry(case, None, err)
        raise CaseError(case.mark_of(err.field), f"{case.framework} would refuse this call: {err.message} "
                        "(if that is the point, declare expected: {invalid: <reason>})",
                        case_id=case.id, field=err.field) from None
    if case.expected.kind == "pending":
        return Entry(case, reading)
    if case.expected.kind == "invalid":
        raise CaseError(case.mark_of("expected"), f"declares the call invalid, but {case.framework} accepts "
                        f"it (output shape {list(reading.output_shape())})", case_id=case.id,
                        field="expected.invalid")
    expected_shape = case.expected.output_shape()
    actual = reading.output_shape()
    if expected_shape != actual:
        raise CaseError(case.mark_of("expected"), f"shape={expected_shape}, but the arguments "
                        f"give {actual} [{case.framework} {reading.geometry.describe()}]",
                        case_id=case.id, field="expected")
    return Entry(case, reading)
