"""Known framework bugs, recognised by what they are: the known-bug files and their matching.

A built-in system's entries are in `adapters/known_bugs/<system id>.yaml`; a third-party system ships
its own file (`System.known_bugs_file`, found by `own_file`); a user adds files of the same format
with `--known-bugs FILE`.  A file is a list of entries:

```yaml
- reason: ConvTranspose with group > 1 and more than one output channel per group   # required
  link: https://github.com/onnx/onnx/pull/...    # required: an issue, PR, or the source line
  when: op == 'conv_transpose' and groups > 1 and out_per_group > 1   # a condition on the cell
  error: could not broadcast|cannot reshape       # a regular expression on the error message
  cases: [sem-torch-groups-bias, found-*]         # case or check ids, globs allowed
  scope: {version: '<1.24', onednn: true}        # where the bug lives (see below)
  system: keras                                   # optional: the system, when the file holds several
```

An entry needs at least one of `when`, `error` and `cases`; all that are given must hold.  `when` is
a Python expression over the cell's facts (`CellFacts.variables`: the canonical geometry, e.g.
`groups`, `out_per_group`, per-axis tuples `kernel`, `stride`, `dilation`, `extent` (d*(k-1)+1),
`crop_lo`, `crop_hi`, `in_size`, `out_size`; `dtype`; and `args`, the native arguments the system
was called with); only comparisons, arithmetic, `and`/`or`/`not`, indexing, comprehensions and
`any all min max len abs sum zip range set` are allowed.  `scope` is matched against the system's
environment as its worker reported it: `version` is a version specifier (PEP 440), every other key
must equal the environment's value; outside its scope an entry is silent.

A failing verdict (mismatch, shape_mismatch, error, timeout) matched by an entry becomes `xfail`
with the reason and link; a pass matched by an entry's `when`/`cases` (inside its scope) is flagged
XPASS; an entry in scope that matched no cell of a whole-suite run is reported as stale.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from types import CodeType
from typing import Any, Iterable, Mapping

from convtx.harness.core.errors import CaseError, Mark
from convtx.harness.core.problem import Geometry, dilated_extent
from convtx.harness.caseformat.yamlsrc import SDict, SList, load_yaml

FAILING_FOR_BUGS = ("mismatch", "shape_mismatch", "error", "timeout", "fail")
_KEYS = ("reason", "link", "when", "error", "cases", "scope", "system")
_FUNCS = {f.__name__: f for f in (any, all, min, max, len, abs, sum, zip, range, set, sorted, tuple, list)}
_NODES = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
          ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.Compare,
          ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
          ast.Name, ast.Load, ast.Store, ast.Constant, ast.Subscript, ast.Tuple, ast.List, ast.IfExp,
          ast.Call, ast.GeneratorExp, ast.ListComp, ast.comprehension, ast.Slice)


@dataclass(frozen=True)
class CellFacts:
    """What a known-bug entry may look at: one case (or check) on one system, as it was called."""

    case_id: str
    system: str
    geometry: Geometry | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    dtype: str = "float32"

    def variables(self) -> dict[str, Any]:
        out: dict[str, Any] = {"args": dict(self.args), "dtype": self.dtype, "case": self.case_id}
        g = self.geometry
        if g is None:
            return out
        out.update(op=g.op, ndim=g.ndim, batch=g.batch, groups=g.groups, in_channels=g.in_channels,
                   out_channels=g.out_channels, in_per_group=g.in_channels // g.groups,
                   out_per_group=g.out_channels // g.groups, has_bias=g.has_bias, kernel=g.kernel,
                   stride=tuple(a.stride for a in g.axes), dilation=tuple(a.dilation for a in g.axes),
                   extent=tuple(dilated_extent(k, a.dilation) for k, a in zip(g.kernel, g.axes)),
                   crop_lo=tuple(a.lo for a in g.axes), crop_hi=tuple(a.hi for a in g.axes),
                   in_size=g.in_size, out_size=g.out_size, full_size=g.full_size)
        return out


@dataclass(frozen=True)
class KnownBug:
    system: str
    reason: str
    link: str
    where: str  # file:line, for messages
    when: str | None = None
    error: str | None = None
    cases: tuple[str, ...] = ()
    scope: Mapping[str, Any] = field(default_factory=dict)

    def in_scope(self, version: str | None, environment: Mapping[str, Any]) -> bool:
        for key, want in self.scope.items():
            if key == "version":
                if not version or not _version_in(version, str(want)):
                    return False
            elif environment.get(key) != want:
                return False
        return True

    def covers_case(self, case_id: str) -> bool:
        """The entry may judge this case: it has no `cases` list, or one of its globs matches the id."""
        return not self.cases or any(fnmatch.fnmatchcase(case_id, p) for p in self.cases)

    def describes(self, facts: CellFacts) -> bool:
        """The cell is one this entry is about (its `cases` and `when`), whatever happened."""
        if self.system != base_id(facts.system) or not self.covers_case(facts.case_id):
            return False
        if self.when is None:
            return True
        try:
            return bool(evaluate(self.when, facts.variables()))
        except Exception:  # a fact this cell lacks (no geometry for a refused call, no such argument)
            return False

    def explains(self, facts: CellFacts, message: str) -> bool:
        """The entry describes the cell and, if it names an error, the message is that error."""
        if not self.describes(facts):
            return False
        return self.error is None or re.search(self.error, message) is not None


def _version_in(version: str, spec: str) -> bool:
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version
    try:
        return Version(version.split()[0].split("+")[0]) in SpecifierSet(spec)
    except InvalidVersion:
        return False


@lru_cache(maxsize=1024)
def _compiled(expression: str) -> CodeType:
    return compile(check_expression(expression), "<known-bug when>", "eval")


def evaluate(expression: str, variables: Mapping[str, Any]) -> Any:
    """Evaluate a checked `when` expression (see `check_expression`) over the cell's variables."""
    code = _compiled(expression)  # checked and compiled once per expression
    # names as globals: a comprehension nested in another (its own scope) sees them too
    return eval(code, {"__builtins__": {}, **_FUNCS, **variables})  # noqa: S307 - checked AST only


def check_expression(expression: str) -> ast.Expression:
    """Parse a `when` expression; raise ValueError naming the first construct that is not allowed."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as err:
        raise ValueError(f"not a valid expression: {err.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            raise ValueError(f"{type(node).__name__} is not allowed in a condition")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS):
            raise ValueError(f"only these functions may be called: {', '.join(sorted(_FUNCS))}")
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise ValueError(f"name {node.id!r} is not allowed")
    return tree


def shipped_folder() -> str:
    from convtx import adapters
    return os.path.join(os.path.dirname(adapters.__file__), "known_bugs")


def base_id(system_id: str) -> str:
    """`tf[onednn=0]` -> `tf`, `onnxruntime@1.19` -> `onnxruntime`: a variant's or another interpreter's
    known bugs are its system's (scope them by environment: `version`, `onednn`, ...)."""
    return system_id.split("@", 1)[0].split("[", 1)[0]


def of_system(system_id: str, bugs: Iterable[KnownBug]) -> list[KnownBug]:
    """The entries that may judge a column: its system's, whatever its variants and label."""
    base = base_id(system_id)
    return [b for b in bugs if b.system == base]


def load(systems: Iterable[str], extra_files: Iterable[str] = (), folder: str | None = None) -> list[KnownBug]:
    """The shipped entries of `systems` (convtx's folder, then each system's own file: see
    `own_file`) plus every entry of `extra_files` (raises CaseError)."""
    systems = list(dict.fromkeys(base_id(s) for s in systems))  # a variant has its base's bugs
    folder = folder or shipped_folder()
    out: list[KnownBug] = []
    for system in systems:
        path = os.path.join(folder, f"{system}.yaml")
        if os.path.isfile(path):
            out += load_file(path, default_system=system)
        own = own_file(system)
        if own is not None and not (os.path.isfile(path) and os.path.samefile(own, path)):
            out += load_file(own, default_system=system)
    for path in extra_files:
        out += load_file(path)
    return [b for b in out if b.system in set(systems)] if extra_files else out


def own_file(system_id: str) -> str | None:
    """A system's own known-bug file: its class's `known_bugs_file`, relative to the folder of the
    module defining the class (a declared file must exist: CaseError if not); without one,
    `known_bugs/<id>.yaml` in that folder if present.  None for an unknown or unloadable system
    (the runner reports those)."""
    import sys
    from convtx import adapters
    try:
        cls = type(adapters.load(system_id))
        module_file = getattr(sys.modules[cls.__module__], "__file__", None)
    except Exception:  # an unknown id, a broken third-party package: not the known bugs' to report
        return None
    if not module_file:
        return None
    here = os.path.dirname(os.path.abspath(module_file))
    if cls.known_bugs_file is not None:
        path = os.path.join(here, cls.known_bugs_file)
        if not os.path.isfile(path):
            raise CaseError(Mark(path, 1, 1), f"no such known-bug file (declared by {cls.__name__}.known_bugs_file)")
        return path
    default = os.path.join(here, "known_bugs", f"{system_id}.yaml")
    return default if os.path.isfile(default) else None


def load_file(path: str, default_system: str | None = None) -> list[KnownBug]:
    if not os.path.isfile(path):
        raise CaseError(Mark(path, 1, 1), "no such known-bug file")
    data = load_yaml(path)
    if data is None:
        return []
    if not isinstance(data, SList):
        raise CaseError(Mark(path, 1, 1), "a known-bug file is a list of entries (mappings)")
    return [_entry(item, mark, default_system) for item, mark in zip(data, data.marks)]


def _entry(item: Any, mark: Mark, default_system: str | None) -> KnownBug:
    if not isinstance(item, SDict):
        raise CaseError(mark, "each known-bug entry is a mapping (reason, link, when/error/cases, scope)")
    for key in item:
        if key not in _KEYS:
            raise CaseError(item.key_marks[key], f"unknown key {key!r} (keys are: {', '.join(_KEYS)})", field=key)
    for key in ("reason", "link"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise CaseError(item.value_marks.get(key, mark), "required, as non-empty text", field=key)
    system = item.get("system", default_system)
    if not isinstance(system, str):
        raise CaseError(item.value_marks.get("system", mark), "required in a user's file: the system id",
                        field="system")
    if not any(k in item for k in ("when", "error", "cases")):
        raise CaseError(mark, "needs at least one of when, error, cases (what the bug looks like)")
    return KnownBug(system, item["reason"].strip(), item["link"].strip(), str(mark),
                    _when(item), _error(item), _cases(item), _scope(item))


def _when(item: SDict) -> str | None:
    value = item.get("when")
    if value is None:
        return None
    try:
        check_expression(str(value))
    except ValueError as err:
        raise CaseError(item.value_marks["when"], str(err), field="when") from None
    return str(value)


def _error(item: SDict) -> str | None:
    value = item.get("error")
    if value is None:
        return None
    try:
        re.compile(str(value))
    except re.error as err:
        raise CaseError(item.value_marks["error"], f"not a regular expression: {err}", field="error") from None
    return str(value)


def _cases(item: SDict) -> tuple[str, ...]:
    value = item.get("cases")
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, SList) or not all(isinstance(v, str) for v in value):
        raise CaseError(item.value_marks["cases"], "expected a list of case or check ids (globs allowed)",
                        field="cases")
    return tuple(value)


def _scope(item: SDict) -> dict[str, Any]:
    value = item.get("scope")
    if value is None:
        return {}
    if not isinstance(value, SDict):
        raise CaseError(item.value_marks["scope"], "expected a mapping, e.g. {version: '>=2.16', onednn: true}",
                        field="scope")
    if "version" in value:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet
        try:
            SpecifierSet(str(value["version"]))
        except InvalidSpecifier:
            raise CaseError(value.value_marks["version"], f"not a version specifier: {value['version']!r}",
                            field="scope.version") from None
    return dict(value)


@dataclass
class Verdict:
    """What the known bugs make of one verdict: the new status and note, and the entry that matched."""

    status: str
    note: str
    entry: KnownBug | None = None


def judge(status: str, note: str, facts: CellFacts, bugs: Iterable[KnownBug], version: str | None,
          environment: Mapping[str, Any]) -> Verdict:
    """xfail for a failure a known bug explains; an XPASS flag for a pass a known bug describes."""
    for bug in bugs:
        if not bug.in_scope(version, environment):
            continue
        if status in FAILING_FOR_BUGS and bug.explains(facts, note):
            return Verdict("xfail", f"known {bug.system} bug: {bug.reason} ({bug.link}); {note}", bug)
        if status == "pass" and (bug.when or bug.cases) and bug.describes(facts):
            return Verdict("pass", f"XPASS: listed as a known bug ({bug.reason}, {bug.link}; {bug.where}) "
                                   f"but passes here. {note}", bug)
    return Verdict(status, note)


def stale(bugs: Iterable[KnownBug], hit: set[str], versions: Mapping[str, str | None],
          environments: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Warnings for entries in scope on this run's systems that matched no cell (`hit`: their `where`s)."""
    out = []
    for bug in bugs:
        columns = [c for c in versions if base_id(c) == bug.system]
        if not columns or bug.where in hit:
            continue
        if any(bug.in_scope(versions.get(c), environments.get(c, {})) for c in columns):
            out.append(f"{bug.where}: known-bug entry for {bug.system} ({bug.reason[:60]}) matched nothing in this run")
    return out
