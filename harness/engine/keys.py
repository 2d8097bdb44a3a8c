"""What a verdict depends on, as digests: the keys of the result store (`store.py`).

A cell's key digests three parts, each computed without starting a worker or importing a framework:

- the **case** (`case_digest`, in caseformat/fingerprint.py, which makes the suite's fingerprint of
  the same digests): the fields a verdict reads, not title, notes, tags, source or the file it is in
  (editing a title costs nothing);
- the **system** (`system_fingerprint`): convtx's version and a digest of the code that makes
  verdicts (`_CODE`: harness core, caseformat, semantics, engine, the diagnosis; adapters), the system's id, class
  and module source, the installed distributions it requires with their dependencies (names and
  versions from the dist-info folders on sys.path: no import, no importlib.metadata scan), Python,
  the machine (CPU model and flags), the device, and the worker's environment (the system's declared
  `env`, the run's worker env, and every inherited variable but session ones: PWD, TERM, SSH_*, ...);
- the **known bugs** that may apply (`applicable_bugs`): the system's entries whose `cases` globs can
  match the case id, by content (reason, link, when, error, cases, scope), not by file position.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import platform
import re
import sys
from functools import lru_cache
from typing import Any, Iterable, Mapping

from convtx.harness.caseformat.fingerprint import case_digest, digest  # noqa: F401 - keys of the store
from convtx.harness.engine.knownbugs import base_id, of_system

KEY_VERSION = "1"  # bump when what a key covers changes
# The code verdicts are made by (relative to harness/; adapters/ is added whole).  Commands, translate,
# fuzz and the checks make no verdict of `convtx run`: editing them keeps the store.  A module verdicts
# come to depend on must be listed here.
_CODE = ("core", "caseformat", "semantics", "engine", os.path.join("analysis", "diagnose.py"))
_SESSION = re.compile(r"(PWD|OLDPWD|SHLVL|_|TERM|TERM_\w*|COLORTERM|COLUMNS|LINES|SSH_\w*|DISPLAY|WINDOWID|XDG_\w*"
                      r"|PS\d|PROMPT_COMMAND|HIST\w*|LS_COLORS|MAIL|TMUX\w*|STY|PYTEST_\w*|CONVTX_\w*|NO_COLOR"
                      r"|FORCE_COLOR|CLICOLOR\w*|LESS\w*|PAGER|EDITOR|VISUAL|SHELL|LOGNAME|USER|HOSTNAME|SUDO_\w*"
                      r"|DBUS_\w*|GPG_\w*|MOTD_SHOWN|VSCODE_\w*|TERMINAL_\w*|ITERM_\w*|WT_\w*"
                      r"|MAKEFLAGS|MFLAGS|MAKELEVEL|MAKE_TERM\w*|MAKEOVERRIDES)\Z")  # make's own: `make report OUT=x`


# ---- known bugs --------------------------------------------------------------------------------

def bug_digest(bug: Any) -> str:
    """A known-bug entry by its content (its file position excluded: moving it changes nothing)."""
    fields = {k: v for k, v in dataclasses.asdict(bug).items() if k != "where"}
    return digest(fields)


def applicable_bugs(system_id: str, case_id: str, bugs: Iterable[Any]) -> list[Any]:
    """The entries of `system_id` that may judge this case (no `cases` list, or one that matches its id)."""
    return [b for b in of_system(system_id, bugs) if b.covers_case(case_id)]


# ---- the system --------------------------------------------------------------------------------

def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@lru_cache(maxsize=1)
def installed() -> dict[str, tuple[str, str]]:
    """Normalized distribution name -> (version, dist-info folder), first on sys.path wins (as imports do)."""
    out: dict[str, tuple[str, str]] = {}
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                dist, _, version = name[:-len(".dist-info")].partition("-")
                out.setdefault(_norm(dist), (version, os.path.join(entry or ".", name)))
    return out


def _read_lines(path: str, stop_at_blank: bool = False) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            out = []
            for line in fh:
                if stop_at_blank and not line.strip():
                    break
                out.append(line.rstrip("\n"))
            return out
    except OSError:
        return []


@lru_cache(maxsize=None)
def _requirements(dist: str) -> tuple[str, ...]:
    """The distributions `dist` requires (extras left out; other markers evaluated here)."""
    from packaging.markers import InvalidMarker, Marker
    out = []
    for line in _read_lines(os.path.join(installed()[dist][1], "METADATA"), stop_at_blank=True):
        if not line.startswith("Requires-Dist:"):
            continue
        spec, _, marker = line[len("Requires-Dist:"):].partition(";")
        name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
        if name is None or "extra" in marker:
            continue
        try:
            if marker.strip() and not Marker(marker.strip()).evaluate():
                continue
        except InvalidMarker:
            pass
        out.append(_norm(name.group(1)))
    return tuple(out)


def _providers(module: str) -> list[str]:
    """The distributions that provide an importable top-level module (empty when none is found)."""
    dists = installed()
    name = _norm(module)
    if name in dists:
        return [name]
    found = [d for d, (_, folder) in dists.items() if module in _read_lines(os.path.join(folder, "top_level.txt"))]
    return found or [d for d in dists if d.startswith(name)]


@lru_cache(maxsize=None)
def distributions(modules: tuple[str, ...]) -> tuple[str, ...]:
    """`name==version` of the distributions providing `modules` and convtx, with all they require;
    every installed distribution when one of the modules has no known provider (never too few)."""
    dists = installed()
    roots = ["convtx"] if "convtx" in dists else []
    for module in modules:
        found = _providers(module)
        if not found:
            return tuple(f"{d}=={v}" for d, (v, _) in sorted(dists.items()))
        roots += found
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        dist = todo.pop()
        if dist in seen or dist not in dists:
            continue
        seen.add(dist)
        todo += _requirements(dist)
    return tuple(f"{d}=={dists[d][0]}" for d in sorted(seen))


def _file_digest(path: str | None) -> str | None:
    if not path:
        return None
    try:
        with open(path, "rb") as fh:
            return hashlib.blake2b(fh.read(), digest_size=16).hexdigest()
    except OSError:
        return None


@lru_cache(maxsize=1)
def code_digest() -> str:
    """convtx's version and the source of the code that makes verdicts."""
    import convtx
    from convtx import adapters, harness
    base = os.path.dirname(harness.__file__)
    parts: list[Any] = [convtx.__version__]
    for path in sorted(_python_files([os.path.join(base, p) for p in _CODE] + [os.path.dirname(adapters.__file__)])):
        parts += [os.path.relpath(path, base), _file_digest(path)]
    return digest(*parts)


def _python_files(paths: list[str]) -> list[str]:
    out = []
    for path in paths:
        if os.path.isfile(path):
            out.append(path)
        for root, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            out += [os.path.join(root, f) for f in files if f.endswith(".py")]
    return out


@lru_cache(maxsize=1)
def machine() -> list[str]:
    """Python, the platform, and the CPU (model and flags: kernels differ by them)."""
    cpu = [ln for ln in _read_lines("/proc/cpuinfo") if ln.startswith(("model name", "flags", "Features"))][:2]
    return [sys.version, platform.platform(), platform.machine(), *cpu]


def inherited_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a worker inherits, without session variables (which change no verdict)."""
    return {k: v for k, v in (os.environ if env is None else env).items() if not _SESSION.match(k)}


def system_fingerprint(system_id: str, *, device: str = "cpu", worker_env: Mapping[str, str] | None = None) -> str:
    """Everything about a system its verdicts depend on that can be known without starting it."""
    from convtx import adapters
    system = adapters.load(system_id)
    cls = type(system)
    module_file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    return digest(KEY_VERSION, code_digest(), machine(), system_id, f"{cls.__module__}:{cls.__qualname__}",
                  _file_digest(module_file), distributions(tuple(system.requires)), dict(system.env),
                  dict(worker_env or {}), inherited_env(), device)


def cell_key(fingerprint: str, case_key: str, bug_digests: Iterable[str]) -> str:
    return digest(fingerprint, case_key, list(bug_digests))
