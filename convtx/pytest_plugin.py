"""convtx's pytest plugin: the cases as pytest items, in a pytest user's own test runs.

Registered under the `pytest11` entry point, so pytest loads it wherever convtx is installed; it does
nothing unless asked (and imports none of convtx's engine until then):

- `pytest --convtx PATHS`: the YAML case files under PATHS (pytest's own path arguments) become one
  item per case x system, named `doc000-k3-s2-p1-op1[torch]` with the node id
  `cases/seeds/doc000-torch-ones.yaml::doc000-k3-s2-p1-op1[torch]`, so `-k`, `-x`, `--lf`, `-m
  convtx`, `--junitxml` and pytest-xdist work as for any test.  `--convtx-frameworks a,b` (default:
  every registered system), `--convtx-known-bugs FILE` (repeatable), `--convtx-timeout SECONDS`.
- `@pytest.mark.convtx(PATHS..., systems=[...], known_bugs=[...])` on a test taking the
  `convtx_case` argument: the test runs once per case x system (paths relative to the rootdir;
  `systems` may name `System` subclasses, e.g. a `FunctionSystem` of your own); `convtx_case.check()`
  gives the cell's verdict as the items do.

Every cell takes the one path, `harness.engine.cell.run_cell`, on an executor per system, started on
first use and shared by the whole session (one per pytest process: each xdist worker has its own),
stopped at its end.  Verdicts map to pytest outcomes: `xfail` (a known bug) -> xfail with the reason
and link; `not_expressible`, `unsupported`, `skipped` -> skip with the note; a failure's message is
convtx's verdict (status, note, call, diagnosis, naive-port note, where the case is); a case file
that fails validation is a failing item whose message is the one-line positioned error.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import pytest

if TYPE_CHECKING:
    from convtx.harness.caseformat.casefile import Entry
    from convtx.harness.engine.knownbugs import KnownBug
    from convtx.harness.engine.results import Result
    from convtx.harness.engine.workers import Executor

CASE_SUFFIXES = (".yaml", ".yml")
SKIPPING = ("not_expressible", "unsupported", "skipped")
MARKER = ("convtx(*paths, systems=None, known_bugs=()): run the test once per case x system of the case files "
          "under paths (relative to the rootdir), as its `convtx_case` argument; the items of `pytest --convtx` "
          "carry this marker too")


class KnownBugPassed(UserWarning):
    """A cell that a known-bug entry describes passed (XPASS): the bug may be fixed, the entry stale."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("convtx", "convtx: transposed-convolution conformance cases as tests")
    group.addoption("--convtx", action="store_true", default=False,
                    help="collect the YAML case files under the given paths: one test per case x system")
    group.addoption("--convtx-frameworks", metavar="IDS", default=None,
                    help="comma-separated system ids to run the cases on (default: every registered system)")
    group.addoption("--convtx-known-bugs", action="append", default=[], metavar="FILE",
                    help="a known-bug file of your own (same format as adapters/known_bugs/*.yaml; repeatable)")
    group.addoption("--convtx-timeout", type=float, default=120.0, metavar="SECONDS",
                    help="seconds per framework call (default 120)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    if config.getoption("convtx"):
        _pool(config).check()


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if not config.getoption("convtx"):
        return None
    from convtx import __version__
    pool = _pool(config)
    files = f"; known-bug files: {', '.join(pool.bug_files)}" if pool.bug_files else ""
    return [f"convtx {__version__}: systems {', '.join(pool.systems())}{files}"]


def pytest_collect_file(file_path: Any, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix in CASE_SUFFIXES and parent.config.getoption("convtx"):
        return CaseFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A skipped case points at its case file's line (not at this module, where pytest.skip is called)."""
    report = yield
    if isinstance(item, CaseItem) and report.skipped and isinstance(report.longrepr, tuple):
        path, line, _ = item.reportinfo()
        report.longrepr = (str(path), (line or 0) + 1, report.longrepr[2])
    return report


class Pool:
    """What a session's cells share: the systems, one executor per system (started on first use,
    stopped when pytest ends), the known bugs per system, and the case ids seen by collection."""

    def __init__(self, config: pytest.Config):
        self.frameworks: str | None = config.getoption("convtx_frameworks")
        self.bug_files: list[str] = list(config.getoption("convtx_known_bugs"))
        self.timeout: float = config.getoption("convtx_timeout")
        self.invocation_dir = str(config.invocation_params.dir)
        self._systems: list[str] | None = None
        self._executors: dict[str, Executor] = {}
        self._unavailable: dict[str, str] = {}
        self._bugs: dict[tuple[str, tuple[str, ...]], list[KnownBug]] = {}
        self.seen: dict[str, str] = {}  # case id -> where it was first defined

    def systems(self) -> list[str]:
        if self._systems is None:
            from convtx.harness.commands.options import selected_systems
            self._systems = selected_systems(self.frameworks)
        return self._systems

    def check(self) -> None:
        """The options make sense: known systems, readable known-bug files (else a usage error)."""
        from convtx.harness.core.errors import ConvtxError
        try:
            self.bugs_for(self.systems(), ())
        except ConvtxError as err:
            raise pytest.UsageError(f"convtx: {err}") from None

    def bugs_for(self, systems: Sequence[str], extra: Sequence[str]) -> list[KnownBug]:
        from convtx.harness.engine import knownbugs
        out: list[KnownBug] = []
        for system in systems:
            key = (system, tuple(extra))
            if key not in self._bugs:
                self._bugs[key] = knownbugs.load([system], [*self.bug_files, *extra])
            out += self._bugs[key]
        return out

    def executor(self, system_id: str) -> Executor:
        """The system's started executor; pytest.skip (not installed) or pytest.fail (cannot load)."""
        if system_id in self._unavailable:
            pytest.skip(self._unavailable[system_id])
        if system_id not in self._executors:
            self._executors[system_id] = self._start(system_id)
        return self._executors[system_id]

    def _start(self, system_id: str) -> Executor:
        from convtx.adapters import load
        from convtx.harness.engine.workers import executor_for
        try:
            system = load(system_id)
        except Exception as err:
            pytest.fail(f"convtx cannot load the system {system_id!r}: {type(err).__name__}: {err}", pytrace=False)
        if not system.available():
            self._unavailable[system_id] = f"skipped: {system_id} is not installed ({system.install_hint})"
            pytest.skip(self._unavailable[system_id])
        executor = executor_for(system_id, timeout=self.timeout, device=getattr(system, "device", None) or "cpu")
        hello = executor.start()
        if not hello.available:
            executor.stop()
            self._unavailable[system_id] = f"skipped: {system_id}: {hello.error}"
            pytest.skip(self._unavailable[system_id])
        return executor

    def result(self, entry: Entry, system_id: str, extra_bugs: Sequence[str] = ()) -> Result:
        """The verdict of one case on one system, by the one path."""
        from convtx.harness.engine.cell import CellOptions, run_cell
        executor = self.executor(system_id)
        return run_cell(entry, system_id, executor, CellOptions(known_bugs=self.bugs_for([system_id], extra_bugs)))

    def shown(self, path: str) -> str:
        """A path as messages show it: relative to where pytest was started, when below it."""
        rel = os.path.relpath(path, self.invocation_dir)
        return path if rel.startswith("..") else rel

    def stop(self) -> None:
        executors, self._executors = self._executors, {}
        for executor in executors.values():
            executor.stop()


_POOL = pytest.StashKey[Pool]()


def _pool(config: pytest.Config) -> Pool:
    if _POOL not in config.stash:
        pool = config.stash[_POOL] = Pool(config)
        config.add_cleanup(pool.stop)
    return config.stash[_POOL]


def conclude(result: Result, entry: Entry) -> None:
    """A convtx verdict as a pytest outcome: return (pass), xfail, skip, or fail with the verdict."""
    if result.status == "pass":
        if result.note.startswith("XPASS"):
            warnings.warn(KnownBugPassed(f"{result.case} on {result.framework}: {result.note}"), stacklevel=2)
        return
    if result.status == "xfail":
        pytest.xfail(result.note)
    if result.status in SKIPPING:
        pytest.skip(f"{result.status}: {result.note}")
    pytest.fail(failure_message(result, entry), pytrace=False)


def failure_message(result: Result, entry: Entry | None) -> str:
    """convtx's verdict as a failure message: status, note, call, diagnosis, naive-port note, the case."""
    lines = [f"{result.case} on {result.framework}: {result.status}", f"  {result.note}"]
    case = entry.case if entry is not None else None
    where = f"{case.path}:{case.mark.line}" if case is not None and case.mark is not None else ""
    for label, value in (("call", result.call), ("weight", result.weight_conversion), ("diagnosis", result.diagnosis),
                         ("naive port", result.naive_port), ("case", where)):
        if value:
            lines.append(f"  {label + ':':<12}{value}")
    return "\n".join(lines)


class CaseFile(pytest.File):
    """One YAML case file: an item per valid case x system, a failing item per invalid case."""

    def collect(self) -> Iterator[pytest.Item]:
        from convtx.harness.caseformat.casefile import load_file
        from convtx.harness.core.errors import CaseError
        pool = _pool(self.config)
        systems = pool.systems()
        names: set[str] = set()
        for item in load_file(pool.shown(str(self.path))):
            if isinstance(item, CaseError):
                name = _invalid_name(item, names)
                yield InvalidCase.from_parent(self, name=name, nodeid=self._child_id(name), error=item)
                continue
            case = item.case
            first = pool.seen.setdefault(case.id, str(case.marks.get("id", case.mark)))
            if first != str(case.marks.get("id", case.mark)):
                error = CaseError(case.marks.get("id", case.mark), f"duplicate id (first defined at {first})",
                                  case_id=case.id, field="id")
                name = _invalid_name(error, names)
                yield InvalidCase.from_parent(self, name=name, nodeid=self._child_id(name), error=error)
                continue
            for system_id in systems:
                name = f"{case.id}[{system_id}]"
                yield CaseItem.from_parent(self, name=name, nodeid=self._child_id(name), entry=item,
                                           system_id=system_id)

    def _child_id(self, name: str) -> str:
        """The item's node id, given as a string so that pytest parses `[system]` as its parameter
        (as for a parametrized test: `--lf` and `--deselect` compare parsed ids)."""
        return f"{self.nodeid}::{name}"


def _invalid_name(error: Any, taken: set[str]) -> str:
    line = error.mark.line if error.mark is not None else 0
    name = f"{error.case_id or f'line-{line}'}[invalid]"
    if name in taken:
        name = f"{error.case_id or 'case'}-line-{line}[invalid]"
    taken.add(name)
    return name


class CaseItem(pytest.Item):
    """One case on one system."""

    def __init__(self, *, entry: Entry, system_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.entry, self.system_id = entry, system_id
        self.add_marker("convtx")
        self.extra_keyword_matches.update({system_id, entry.case.framework, *entry.case.tags})

    def runtest(self) -> None:
        conclude(_pool(self.config).result(self.entry, self.system_id), self.entry)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        mark = self.entry.case.mark
        return self.path, (mark.line - 1 if mark is not None else None), f"{self.entry.case.id} on {self.system_id}"


class InvalidCase(pytest.Item):
    """A case that fails validation: it fails with the one-line positioned error."""

    def __init__(self, *, error: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.error = error
        self.add_marker("convtx")

    def runtest(self) -> None:
        pytest.fail(str(self.error), pytrace=False)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        mark = self.error.mark
        return self.path, (mark.line - 1 if mark is not None else None), f"{self.error.case_id or 'case'}: invalid"


@dataclass
class CaseRun:
    """One case on one system, as a marked test's `convtx_case`: `check()` runs it (see the module)."""

    pool: Pool
    system: str
    entry: Entry | None
    error: Any = None  # the CaseError of a case that fails validation
    known_bugs: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        name = self.entry.case.id if self.entry is not None else (self.error.case_id or "invalid")
        return f"{name}@{self.system}"

    def result(self) -> Result:
        """The verdict (a `Result`), without turning it into a pytest outcome."""
        from convtx.harness.engine.results import Result
        if self.entry is None:
            return Result(self.id.rpartition("@")[0], self.system, "invalid", note=str(self.error))
        return self.pool.result(self.entry, self.system, self.known_bugs)

    def check(self) -> Result:
        """Run the cell: return its result on a pass; xfail, skip or fail as `pytest --convtx` does."""
        if self.entry is None:
            pytest.fail(str(self.error), pytrace=False)
        result = self.result()
        conclude(result, self.entry)
        return result


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("convtx")
    if marker is None or "convtx_case" not in metafunc.fixturenames:
        return
    runs = marked_runs(_pool(metafunc.config), marker, str(metafunc.config.rootpath))
    metafunc.parametrize("convtx_case", runs, ids=[r.id for r in runs])


def marked_runs(pool: Pool, marker: pytest.Mark, root: str) -> list[CaseRun]:
    """The case x system runs a `@pytest.mark.convtx(...)` asks for."""
    from convtx.api import load_cases, system_ids
    from convtx.harness.core.errors import ConvtxError
    paths = [p if os.path.isabs(p) else os.path.join(root, p) for p in map(os.fspath, marker.args)]
    if not paths:
        pytest.fail("@pytest.mark.convtx needs the case files or folders, e.g. @pytest.mark.convtx('cases/')",
                    pytrace=False)
    try:
        systems = system_ids(marker.kwargs.get("systems", pool.frameworks))
    except (ConvtxError, TypeError, ValueError) as err:
        pytest.fail(f"@pytest.mark.convtx: {err}", pytrace=False)
    bugs = tuple(os.fspath(p) for p in marker.kwargs.get("known_bugs", ()))
    suite = load_cases([pool.shown(p) for p in paths])
    runs = [CaseRun(pool, s, entry, known_bugs=bugs) for entry in suite.entries for s in systems]
    return runs + [CaseRun(pool, s, None, error=e) for e in suite.errors for s in systems[:1]]


@pytest.fixture
def convtx_case() -> CaseRun:
    """One case on one system: parametrized by `@pytest.mark.convtx(PATHS, systems=...)` on the test."""
    pytest.fail("convtx_case comes from @pytest.mark.convtx(PATHS, systems=[...]) on the test", pytrace=False)
