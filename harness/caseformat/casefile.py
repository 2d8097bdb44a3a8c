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
from convtx.harness.caseformat.case import CASE_KEYS, REQUIRED_KEYS, Case, Expected
from convtx.harness.caseformat.fields import Fields, expected, kind_of, plain, similar, source, tags, tolerance
from convtx.harness.core.errors import CaseError, CaseErrors, InvalidArguments, Mark
from convtx.harness.core.problem import OPS
from convtx.harness.caseformat.tensorparse import TensorReader
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
                                 f"(mappings), got {kind_of(data)}")]
    out: list[Entry | CaseError] = []
    for item, mark in zip(items, marks):
        try:
            out.append(validate(item, mark))
        except CaseErrors as errs:
            out.extend(errs.errors)
        except CaseError as err:
            out.append(err)
    return out


def validate_text(path: str, text: str) -> list[Entry]:
    """Validate YAML text as `convtx validate` would validate the file `path`; raise the first CaseError."""
    data = load_yaml(path, text)
    items, marks = ([data], [data.mark]) if isinstance(data, SDict) else (list(data), data.marks)
    return [validate(item, mark) for item, mark in zip(items, marks)]


def validate(data: Any, mark: Mark, *, pending_expected: bool = False) -> Entry:
    """One case mapping -> Entry. `pending_expected` (for `convtx new`) allows a missing expected."""
    if not isinstance(data, SDict):
        raise CaseError(mark, f"each case must be a mapping of keys (id, framework, ...), got {kind_of(data)}")
    case_id = data.get("id") if isinstance(data.get("id"), str) else None
    try:
        case = _build_case(data, pending_expected)
        return _understand(case)
    except CaseError as err:
        raise err.with_context(case_id=case_id, mark=data.mark) from None


def _build_case(data: SDict, pending_expected: bool = False) -> Case:
    """The typed case, or CaseErrors naming every structural problem (in file order)."""
    f = Fields(data)
    _check_keys(f, pending_expected)
    if "id" in data:
        f.read(_check_id, f)
    framework = f.read(f.choice, "framework", semantics.FRAMEWORKS) if "framework" in data else ""
    op = f.read(f.choice, "op", OPS, default="conv_transpose")
    dtype = f.read(f.choice, "dtype", DTYPES, default="float32")
    reader = TensorReader(f.read(f.boolean, "allow_nonfinite", default=False, stand_in=False))
    args = f.read(_args, f, framework or "its framework's")
    tensors = {key: f.read(reader.tensor, data, key) for key in ("input", "weight", "bias") if data.get(key) is not None}
    exp = f.read(expected, data, reader) if "expected" in data else Expected("pending")
    tol, src, words = f.read(tolerance, f), f.read(source, f), f.read(tags, f, stand_in=())
    title, notes = f.read(f.text, "title"), f.read(f.text, "notes")
    if f.errors:
        raise CaseErrors(sorted(f.errors, key=lambda e: (e.mark.line, e.mark.col) if e.mark else (0, 0)))
    return Case(id=data["id"], framework=framework, op=op, args=plain(args or {}), input=tensors["input"],
                weight=tensors["weight"], bias=tensors.get("bias"), expected=exp, dtype=dtype, tolerance=tol,
                title=title, source=src, notes=notes, tags=words, allow_nonfinite=reader.allow_nonfinite,
                path=data.mark.path, mark=data.mark, marks=_marks(data, args))


def _check_keys(f: Fields, pending_expected: bool) -> None:
    data = f.data
    for key in data:
        if key not in CASE_KEYS:
            close = [k for k in CASE_KEYS if similar(key, k)]
            hint = f"did you mean {close[0]!r}? " if close else _argument_hint(data, key)
            f.errors.append(f.error(key, f"unknown key {key!r} ({hint}keys are: {', '.join(CASE_KEYS)})", at_key=True))
    for key in REQUIRED_KEYS:
        if key not in data and not (pending_expected and key == "expected"):
            f.errors.append(CaseError(data.mark, f"missing required key (a case needs {', '.join(REQUIRED_KEYS)})",
                                      field=key))


def _argument_hint(data: SDict, key: str) -> str:
    """For a top-level key that is (nearly) an argument of the case's framework: say it goes under args."""
    framework = data.get("framework")
    dialect = semantics.DIALECTS.get(framework) if isinstance(framework, str) else None
    if dialect is None:
        return ""
    names = {name for op_args in dialect.ops.values() for name in op_args}
    close = [n for n in sorted(names) if similar(key, n)]
    return f"a {dialect.name} argument ({close[0]}?) goes under args: " if close else ""


def _check_id(f: Fields) -> None:
    if not isinstance(f.data["id"], str) or not ID_PATTERN.match(f.data["id"]):
        raise f.error("id", f"{f.data['id']!r} is not a valid id (lowercase letters, digits, '.', '_', "
                            "'-', starting with a letter or digit)")


def _args(f: Fields, framework: str) -> SDict:
    args = f.data.get("args", SDict())
    if args is None:
        return SDict()
    if not isinstance(args, SDict):
        raise f.error("args", f"expected a mapping of {framework} argument names to values, got {kind_of(args)}")
    return args


def _marks(data: SDict, args: SDict | None) -> dict[str, Mark]:
    marks = dict(data.value_marks)
    if args is not None:
        marks.update({f"args.{key}": args.value_marks[key] for key in args})
    return marks


def _hint(case: Case, field: str) -> str:
    """A layout hint for problems the tensors' shapes can cause (not for a misspelt argument)."""
    from convtx.harness.caseformat.hints import layout_hint
    return "" if field.startswith("args.") and "size" not in field and "shape" not in field else layout_hint(case)


def _understand(case: Case) -> Entry:
    """Run the case through its framework's dialect; check the expected shape against it."""
    bias_shape = case.bias.shape if case.bias is not None else None
    try:
        reading = semantics.read(case.framework, case.op, case.args, case.input.shape,
                                 case.weight.shape, case.bias is not None, bias_shape)
    except semantics.ArgError as err:
        raise CaseError(case.mark_of(err.field), err.message + _hint(case, err.field), case_id=case.id,
                        field=err.field) from None
    except InvalidArguments as err:
        if case.expected.kind in ("invalid", "pending"):
            return Entry(case, None, err)
        raise CaseError(case.mark_of(err.field), f"{case.framework} would refuse this call: {err.message} "
                        "(if that is the point, declare expected: {invalid: <reason>})" + _hint(case, err.field),
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
