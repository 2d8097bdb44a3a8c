"""`convtx env`: the interpreters that run labelled systems (`X@label`: see `convtx.harness.engine.launch`).

`convtx env create X@VERSION [--path DIR]` makes a venv (`python -m venv`, default `.convtx/envs/X@VERSION`
beside the config file), pip-installs there convtx from this checkout without extras (editable: that
worker runs the same code as this process) and X's framework at that version (the distribution of X's
first required module: `onnxruntime@1.19` -> `onnxruntime==1.19.*`, its other required modules unpinned;
`--spec` for a label that is no version, `--with` for more), starts a worker there to check it (its hello:
the version and Python it runs), and records `"X@VERSION" = "DIR/bin/python"` in the config file
(`.convtx/envs.toml`, or `$CONVTX_ENVS`).  An existing venv is reused (pip brings it up to date).
`convtx env list` prints what the config file records.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass

from convtx.harness.core.errors import UsageError
from convtx.harness.engine import launch

EXIT_OK, EXIT_FAILED = 0, 1
# importable module -> its distribution on PyPI, where the names differ (others: the same name)
DISTRIBUTIONS = {"paddle": "paddlepaddle", "ai_edge_litert": "ai-edge-litert"}
_VERSION = re.compile(r"\d+(\.\d+)*")


@dataclass(frozen=True)
class EnvPlan:
    """What `env create` will do: the venv's folder, and what pip installs there."""

    key: str  # X@label
    folder: str
    source: str  # the convtx to install (a checkout)
    editable: bool
    requirements: tuple[str, ...]  # the framework pinned first, then its other modules, then --with

    @property
    def python(self) -> str:
        return venv_python(self.folder)

    def pip_command(self) -> list[str]:
        convtx = ["-e", self.source] if self.editable else [self.source]
        return [self.python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off",
                *convtx, *self.requirements]


def add_parser(sub) -> None:
    env = sub.add_parser("env", help="make or list the interpreters that run labelled systems (id@label)")
    verbs = env.add_subparsers(dest="verb", required=True, metavar="VERB")
    create = verbs.add_parser("create", help="a venv with a framework's version, recorded for id@version")
    create.add_argument("system", metavar="ID@VERSION", help="e.g. onnxruntime@1.19 (-> onnxruntime==1.19.*)")
    create.add_argument("--path", metavar="DIR", help="the venv's folder (default: envs/ID@VERSION beside the config)")
    create.add_argument("--spec", metavar="REQUIREMENT",
                        help="the framework's requirement instead of DIST==VERSION.*, e.g. 'torch==2.4.1'")
    create.add_argument("--with", dest="extra", action="append", default=[], metavar="REQUIREMENT",
                        help="one more requirement to install there, e.g. 'numpy<2' (repeatable)")
    create.add_argument("--base-python", default=sys.executable, metavar="PYTHON",
                        help="the Python the venv is made from (default: this one)")
    create.add_argument("--source", metavar="DIR", help="the convtx checkout to install (default: this one)")
    create.add_argument("--no-editable", action="store_true", help="install a copy of convtx, not the checkout")
    verbs.add_parser("list", help="the interpreters the config file records")


def run(args) -> int:
    return create(args) if args.verb == "create" else list_envs()


def list_envs() -> int:
    path = launch.config_path()
    found = launch.read_config(path)
    for key, python in sorted(found.items()):
        print(f"{key}  {python}{'' if os.path.isfile(python) else '  (missing)'}")
    print(f"{len(found)} interpreter(s) in {path}")
    return EXIT_OK


def create(args) -> int:
    plan = plan_env(args.system, path=args.path, spec=args.spec, extra=args.extra, source=args.source,
                    editable=not args.no_editable)
    log = os.path.join(plan.folder, "convtx-env.log")
    if not os.path.isfile(plan.python):
        print(f"env: making a venv in {plan.folder}")
        if _run([args.base_python, "-m", "venv", plan.folder], None) != 0:
            return _failed(f"`{args.base_python} -m venv {plan.folder}` failed", None)
    print(f"env: pip install {'-e ' if plan.editable else ''}{plan.source} {' '.join(plan.requirements)} (log: {log})")
    if _run(plan.pip_command(), log) != 0:
        return _failed("pip could not install that", log)
    return _check_and_record(plan)


def plan_env(system_id: str, *, path: str | None = None, spec: str | None = None, extra: list[str] | None = None,
             source: str | None = None, editable: bool = True) -> EnvPlan:
    """What `env create` does for an id (UsageError, one line, for anything it cannot do)."""
    from convtx.adapters import load, split_id, split_label, systems
    try:
        head, label = split_label(system_id)
        base, variants = split_id(head)
    except KeyError as err:
        raise UsageError(err.args[0]) from None
    if label is None or variants or base not in systems():
        raise UsageError(f"{system_id!r}: expected ID@VERSION of a known system without variants, e.g. "
                         f"onnxruntime@1.19 (known: {', '.join(systems())})")
    modules = list(type(load(base)).requires) or ["numpy"]
    framework = spec or (f"{distribution(modules[0])}=={label}.*" if _VERSION.fullmatch(label) else None)
    if framework is None:
        raise UsageError(f"{system_id}: the label {label!r} is not a version; name the framework's requirement "
                         f"with --spec, e.g. --spec '{distribution(modules[0])}==1.2.*'")
    for requirement in [framework, *(extra or [])]:
        _check_requirement(requirement)
    checkout = source or launch.source_root()
    if checkout is None or not os.path.isfile(os.path.join(checkout, "pyproject.toml")):
        raise UsageError("this convtx is not a source checkout: give one with --source DIR")
    key = f"{base}@{label}"
    folder = os.path.abspath(path or os.path.join(os.path.dirname(launch.config_path()), "envs", key))
    others = tuple(distribution(m) for m in modules[1:])
    return EnvPlan(key, folder, os.path.abspath(checkout), editable, (framework, *others, *(extra or [])))


def distribution(module: str) -> str:
    return DISTRIBUTIONS.get(module, module.replace("_", "-"))


def venv_python(folder: str) -> str:
    return os.path.join(folder, "Scripts", "python.exe") if os.name == "nt" else os.path.join(folder, "bin", "python")


def _check_requirement(text: str) -> None:
    from packaging.requirements import InvalidRequirement, Requirement
    try:
        Requirement(text)
    except InvalidRequirement as err:
        raise UsageError(f"{text!r} is not a requirement pip understands: {err}") from None


def _run(command: list[str], log: str | None) -> int:
    if log is None:
        return subprocess.run(command, stdin=subprocess.DEVNULL).returncode
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"$ {' '.join(command)}\n")
        fh.flush()
        return subprocess.run(command, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT).returncode


def _failed(what: str, log: str | None) -> int:
    tail = ""
    if log is not None:
        with open(log, encoding="utf-8", errors="replace") as fh:
            lines = [ln.strip() for ln in fh.read().splitlines() if ln.strip()]
        tail = f"; last line: {lines[-1][:300]}" if lines else ""
    print(f"convtx env: {what}{tail}" + (f" (whole log: {log})" if log else ""), file=sys.stderr)
    return EXIT_FAILED


def _check_and_record(plan: EnvPlan) -> int:
    """A worker in the new interpreter says hello; then the config file records it."""
    from convtx.harness.engine.workers import Worker
    launch.configure({plan.key: plan.python})
    worker = Worker(plan.key)
    try:
        hello = worker.start()
    finally:
        worker.stop()
        launch.configure({})
    if not hello.available:
        return _failed(f"the {plan.key} worker in {plan.python} says: {hello.error}", None)
    path = launch.config_path()
    launch.write_config(path, {**launch.read_config(path), plan.key: plan.python})
    python = str(hello.environment.get("python_version", "")).split(" ")[0]
    print(f"env: {plan.key}: version {hello.version}, Python {python} ({plan.python}); recorded in {path}")
    return EXIT_OK
