"""Systems run by another interpreter: `X@label` ids, where their interpreters come from, their workers.

`X[variant,...]@label` (see `adapters.split_label`) is the system X run by the Python configured for
`X@label` - typically a venv holding another version of X's framework, made by `convtx env create X@1.19`
- and its results are a column of their own beside X's.  This module owns:

- where that Python comes from: what this process was given (`configure`: the CLI's `--python
  X@label=PATH`, or the Python API) first, then the config file `.convtx/envs.toml` (or `$CONVTX_ENVS`),
  a table `[envs]` of `"X@label" = "PATH"` lines (relative paths from the file's folder);
- `elsewhere`: what convtx's own process sees of such a system (`adapters.load`): never in process, its
  availability the other interpreter's to report in its worker's hello, and in its result-store
  fingerprint the interpreter and the distributions installed beside it;
- `start`: the worker there.  multiprocessing's spawn would hand the child this process's sys.path,
  so `python -I -m convtx.harness.engine.launch FD` is started directly (isolated: no PYTHONPATH, no
  current folder, only that interpreter's packages) with one end of a socket pair as a multiprocessing
  Connection.  After one launch message (what to run, and this convtx's code digest: a worker whose
  installed convtx differs says so in its hello instead of serving) it runs `workers.worker_main`, so
  the messages, timeouts, restarts and log file are the ones of every `Worker`; its hello adds the
  interpreter (`python`, `python_version`) to the environment.  POSIX only (the socket is inherited).
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import io
import json
import os
import pickle
import re
import socket
import subprocess
import sys
import weakref
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Mapping

from convtx.harness.core.errors import UsageError

if TYPE_CHECKING:
    from convtx.adapters.contract import System

ENVS_ENV = "CONVTX_ENVS"
DEFAULT_CONFIG = os.path.join(".convtx", "envs.toml")
TABLE = "envs"
ENTRY = "convtx.harness.engine.launch"
INTERPRETER_ENV = "CONVTX_INTERPRETER"  # in a labelled system's env: its fingerprint sees the interpreter
PACKAGES_ENV = "CONVTX_INTERPRETER_PACKAGES"  # ... and what is installed beside it
_GIVEN: dict[str, str] = {}  # X@label -> python, configured in this process (before the config file)


@dataclass(frozen=True)
class Interpreter:
    """The Python that runs a labelled system's worker (`python` None: none is configured)."""

    key: str  # X@label: the system without variants (its variants run in the same interpreter)
    python: str | None
    source: str  # "--python" or the config file's path

    def problem(self) -> str | None:
        """Why no worker can start there (the note of every cell, `skipped`), or None."""
        if self.python is None:
            return (f"no interpreter configured for {self.key}: pass --python {self.key}=/path/to/venv/bin/python, "
                    f"or add \"{self.key}\" = \"/path/to/venv/bin/python\" under [{TABLE}] in {config_path()}, "
                    f"or run `convtx env create {self.key}`")
        if not (os.path.isfile(self.python) and os.access(self.python, os.X_OK)):
            return f"no interpreter {self.python} (configured for {self.key} by {self.source})"
        if os.name != "posix":
            return "a system in another interpreter needs a POSIX system (its worker inherits a socket)"
        return None


# ---- where the interpreters come from --------------------------------------------------------

def key_of(system_id: str) -> str | None:
    """`onnxruntime[cuda]@1.19` -> `onnxruntime@1.19`; None for an id without a label."""
    from convtx.adapters import split_id, split_label
    label = split_label(system_id)[1]
    return None if label is None else f"{split_id(system_id)[0]}@{label}"


def configure(interpreters: Mapping[str, str]) -> None:
    """Run each `X@label` with this Python in this process (before the config file's); replaces what
    was configured before (the CLI calls it with its --python values)."""
    _GIVEN.clear()
    _GIVEN.update({key_of(k) or k: os.path.abspath(v) for k, v in interpreters.items()})
    _forget_systems()


def interpreter_for(system_id: str) -> Interpreter | None:
    """The interpreter of a labelled id; None for an unlabelled one (convtx's own, by spawn).  Reads the
    config file (UsageError, one line, if it is malformed)."""
    key = key_of(system_id)
    if key is None:
        return None
    if key in _GIVEN:
        return Interpreter(key, _GIVEN[key], "--python")
    path = config_path()
    found = read_config(path).get(key)
    return Interpreter(key, found, path if found else "")


def configured() -> dict[str, str]:
    """Every `X@label` -> interpreter this process would use: the config file's, then those given."""
    return {**read_config(config_path()), **_GIVEN}


def config_path() -> str:
    return os.environ.get(ENVS_ENV) or DEFAULT_CONFIG


def read_config(path: str) -> dict[str, str]:
    """`X@label` -> interpreter (absolute) from a config file; {} when there is none."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise UsageError(f"{path}: cannot read: {err.strerror}") from None
    table = parse_toml(text, path).get(TABLE, {})
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise UsageError(f"{path}: [{TABLE}] must map \"id@label\" to an interpreter's path (text)")
    folder = os.path.dirname(os.path.abspath(path))
    out = {}
    for key, python in table.items():
        if key_of(_checked_key(key, path)) != key:
            raise UsageError(f"{path}: [{TABLE}] {key!r}: name the system without variants (id@label)")
        out[key] = os.path.normpath(os.path.join(folder, os.path.expanduser(python)))
    return out


def _checked_key(key: str, path: str) -> str:
    try:
        if key_of(key) is None:
            raise KeyError(f"{key!r} has no @label")
    except KeyError as err:
        raise UsageError(f"{path}: [{TABLE}]: {err.args[0]}") from None
    return key


def parse_toml(text: str, path: str) -> dict[str, Any]:
    """tomllib (Python 3.11+) or tomli; without either, the subset `write_config` writes."""
    for name in ("tomllib", "tomli"):
        try:
            toml: Any = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        try:
            return toml.loads(text)
        except toml.TOMLDecodeError as err:
            raise UsageError(f"{path}: not TOML: {err}") from None
    return parse_subset(text, path)


_HEADER = re.compile(r"\[\s*([A-Za-z0-9_-]+)\s*\]")
_STRING = r'"(?:[^"\\]|\\.)*"'
_LINE = re.compile(rf"({_STRING}|[A-Za-z0-9_-]+)\s*=\s*({_STRING})\s*(?:#.*)?")


def parse_subset(text: str, path: str) -> dict[str, Any]:
    """Tables of `key = "text"` lines and comments: what `write_config` writes (for Python 3.10)."""
    out: dict[str, Any] = {}
    table = out
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        header, entry = _HEADER.fullmatch(line), _LINE.fullmatch(line)
        if not line or line.startswith("#"):
            continue
        if header:
            table = out.setdefault(header.group(1), {})
        elif entry:
            key = json.loads(entry.group(1)) if entry.group(1).startswith('"') else entry.group(1)
            table[key] = json.loads(entry.group(2))
        else:
            raise UsageError(f"{path}:{number}: expected [table] or \"key\" = \"text\" (Python 3.10 reads only "
                             "that subset of TOML without tomli)")
    return out


def write_config(path: str, interpreters: Mapping[str, str]) -> None:
    """The config file with these interpreters (each `X@label`: its Python), in the subset above."""
    from convtx.harness.core.files import write_atomic
    lines = ["# Systems run by another interpreter: `convtx run --frameworks X,X@label` (see README,",
             "# \"Versions side by side\"). `convtx env create X@label` adds lines; edit them in the same form.",
             f"[{TABLE}]"] + [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in sorted(interpreters.items())]
    write_atomic(path, "\n".join(lines) + "\n")
    _forget_systems()


def _forget_systems() -> None:
    from convtx import adapters
    adapters.load.cache_clear()  # a labelled system's env names its interpreter


# ---- what convtx's own process sees of such a system ------------------------------------------

def elsewhere(cls: type[System], system_id: str) -> type[System]:
    """The subclass of a system class for `X@label`: run by a worker there (never in process), available
    as far as this process can tell (the worker's hello says), its env naming the interpreter."""
    interpreter = interpreter_for(system_id)
    env = dict(cls.env)
    if interpreter is not None and interpreter.python is not None:
        env.update({INTERPRETER_ENV: interpreter.python, PACKAGES_ENV: packages_digest(interpreter.python)})
    key = interpreter.key if interpreter is not None else system_id
    attrs = {"id": system_id, "requires": (), "env": env, "__module__": cls.__module__,
             "capabilities": frozenset(cls.capabilities) - {"in_process"}, "available": _available,
             "install_hint": f"configure {key}'s interpreter: --python {key}=PATH or `convtx env create {key}`"}
    meta: Any = type(cls)  # ABCMeta: the subclass is made as `class` would
    made: type[System] = meta(f"{cls.__name__}@{system_id.rpartition('@')[2]}", (cls,), attrs)
    return made


def _available(self: Any) -> bool:
    return True  # what this process can tell: the worker in the other interpreter says (its hello)


def packages_digest(python: str) -> str:
    """The distributions installed in an interpreter's venv (its dist-info folders), read without running it."""
    root = os.path.dirname(os.path.dirname(python))
    names: list[str] = []
    for lib in ("lib", "lib64"):
        folder = os.path.join(root, lib)
        for sub in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            site = os.path.join(folder, sub, "site-packages") if sub.startswith("python") else ""
            if os.path.isdir(site):
                names += sorted(n for n in os.listdir(site) if n.endswith(".dist-info"))
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


# ---- the worker in another interpreter ------------------------------------------------------

class Child:
    """A worker process in another interpreter, with what `Worker` uses of multiprocessing's Process."""

    def __init__(self, popen: subprocess.Popen):
        self.popen = popen

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        self.popen.kill()

    def join(self, timeout: float | None = None) -> None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    @property
    def exitcode(self) -> int | None:
        return self.popen.poll()


_LIVE: "weakref.WeakSet[Child]" = weakref.WeakSet()


def start(interpreter: Interpreter, system_path: str, env: dict[str, str], log_path: str,
          device: str) -> tuple[Child, Connection]:
    """Start a worker in the interpreter and connect to it; it answers with its hello, as a spawned one."""
    from convtx.harness.engine.keys import code_digest
    assert interpreter.python is not None
    ours, theirs = socket.socketpair()
    try:
        with open(log_path, "ab") as log:
            popen = subprocess.Popen([interpreter.python, "-I", "-m", ENTRY, str(theirs.fileno())],
                                     pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     start_new_session=True)  # Ctrl-C is the parent's (as a spawned worker)
    finally:
        theirs.close()
    child = Child(popen)
    _LIVE.add(child)
    conn = Connection(ours.detach())
    try:
        conn.send({"system": system_path, "env": env, "log": log_path, "device": device, "code": code_digest(),
                   "reinstall": _reinstall_hint(interpreter)})
    except OSError:  # it is gone already: `Worker` reads no hello and quotes its log
        pass
    return child, conn


def source_root() -> str | None:
    """The source checkout this convtx runs from (an editable install's), or None for an installed one."""
    import convtx.harness
    root = os.path.dirname(os.path.dirname(os.path.abspath(convtx.harness.__file__)))
    try:
        with open(os.path.join(root, "pyproject.toml"), encoding="utf-8") as fh:
            named = re.search(r'(?m)^name\s*=\s*"convtx"', fh.read())
    except OSError:
        return None
    return root if named else None


def _reinstall_hint(interpreter: Interpreter) -> str:
    root = source_root()
    there = f"`{interpreter.python} -m pip install -e {root}`" if root else "install this convtx there"
    return f"{there}, or `convtx env create {interpreter.key}`"


@atexit.register
def _kill_live() -> None:
    """As multiprocessing does with daemon workers: none outlives convtx."""
    for child in list(_LIVE):
        if child.is_alive():
            child.kill()


class _Unpickler(pickle.Unpickler):
    """NumPy 2's pickles read by NumPy 1.x too (whose `numpy._core` was `numpy.core`)."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return super().find_class(module, name)
        except ModuleNotFoundError:
            if not module.startswith("numpy._core"):
                raise
            return super().find_class(module.replace("numpy._core", "numpy.core", 1), name)


class _Reporting:
    """The worker's end of the connection: its hello also names this interpreter; it reads tensors
    pickled by another NumPy major version."""

    def __init__(self, conn: Connection):
        self._conn = conn

    def recv(self) -> Any:
        return _Unpickler(io.BytesIO(self._conn.recv_bytes())).load()

    def send(self, message: Any) -> None:
        if isinstance(message, tuple) and message[:1] == ("hello",) and message[1].available:
            message[1].environment.update(python=sys.executable, python_version=sys.version)
        self._conn.send(message)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def main(argv: list[str]) -> None:
    """The worker's entry in the other interpreter: the launch message, then `workers.worker_main`."""
    from convtx.harness.engine.keys import code_digest
    from convtx.harness.engine.workers import Hello, worker_main
    conn = Connection(int(argv[0]))
    order = conn.recv()
    if order["code"] != code_digest():
        conn.send(("hello", Hello(False, error=f"the convtx installed for {sys.executable} is not this convtx "
                                               f"(its code differs): {order['reinstall']}")))
        return
    worker_main(order["system"], _Reporting(conn), order["env"], order["log"], order["device"])


if __name__ == "__main__":
    main(sys.argv[1:])
