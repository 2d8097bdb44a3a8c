"""Command-line options shared by several commands: the systems to run (and the interpreters of the
labelled ones, `--python X@label=PATH`), and users' known-bug files."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Any

from convtx.adapters import REFERENCE, load, split_id, split_label, systems
from convtx.harness.core.errors import UsageError
from convtx.harness.engine import launch


@dataclass
class _CommandLine:
    """The --python values of the command line being parsed (None: no command line in this process)."""

    python: list[str] | None = None


_CLI = _CommandLine()


class _PythonAction(argparse.Action):
    """Collects --python values; `selected_systems` checks them (one line, exit 2) and configures `launch`."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), values])
        if _CLI.python is not None:
            _CLI.python.append(str(values))


def add_systems_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frameworks", metavar="IDS",
                        help=f"comma-separated system ids (default: all of {', '.join(systems())}); "
                             "id[variant,...]@label runs id in the interpreter configured for id@label")
    parser.add_argument("--python", action=_PythonAction, default=[], metavar="ID@LABEL=PYTHON",
                        help="the interpreter of id@label, e.g. torch@2.4=envs/torch24/bin/python (repeatable; "
                             f"else from {launch.config_path()}, written by `convtx env create`)")
    _CLI.python = []  # a new command line is about to be parsed


def add_known_bugs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--known-bugs", action="append", default=[], metavar="FILE",
                        help="a known-bug file of your own (same format as adapters/known_bugs/*.yaml; repeatable)")


def selected_systems(value: str | None, *, with_reference: bool = True) -> list[str]:
    """The ids named by --frameworks (UsageError for an unknown one), or every registered system and
    every id given --python."""
    given = _configure_interpreters()
    known = systems()
    names = [n.strip() for n in (value or "").split(",") if n.strip()]
    if not names:
        return [s for s in known if with_reference or s != REFERENCE] + list(given)
    for name in names:
        _check(name, known)
    if any(launch.key_of(n) for n in names):
        launch.configured()  # a malformed config file: one line now, not in a worker
    for key in given:
        if not any(launch.key_of(n) == key for n in names):
            print(f"warning: --python {key}=...: {key} is not among --frameworks (add it there to run it)",
                  file=sys.stderr)
    return names


def _check(name: str, known: dict[str, str]) -> None:
    try:
        base, _ = split_id(name)
    except KeyError as err:
        raise UsageError(f"--frameworks: {err.args[0]}") from None
    if base not in known:
        raise UsageError(f"--frameworks: unknown {base} (known: {', '.join(known)})")
    try:
        load(name)
    except KeyError as err:
        raise UsageError(f"--frameworks: {err.args[0]}") from None


def _configure_interpreters() -> dict[str, str]:
    """This command line's --python values, checked, given to `launch` once (then the Python API's own
    `launch.configure` is left alone)."""
    if _CLI.python is None:
        return {}
    given = dict(parse_python(v) for v in _CLI.python)
    launch.configure(given)
    _CLI.python = None
    return given


def parse_python(value: str) -> tuple[str, str]:
    """`torch@2.4=/venv/bin/python` -> ("torch@2.4", "/venv/bin/python" made absolute); UsageError if not that."""
    system_id, eq, path = value.partition("=")
    usage = f"--python {value!r}: expected ID@LABEL=PYTHON, e.g. torch@2.4=/path/to/venv/bin/python"
    if not eq or not path.strip():
        raise UsageError(usage)
    try:
        head, label = split_label(system_id.strip())
        base, variants = split_id(head)
    except KeyError as err:
        raise UsageError(f"--python {value!r}: {err.args[0]}") from None
    if label is None:
        raise UsageError(f"{usage} (the @label names the column of the system run there)")
    if variants:
        raise UsageError(f"--python {value!r}: give {base}@{label} (its variants run in the same interpreter)")
    if base not in systems():
        raise UsageError(f"--python {value!r}: unknown {base} (known: {', '.join(systems())})")
    python = os.path.abspath(os.path.expanduser(path.strip()))
    if not os.path.isfile(python):
        raise UsageError(f"--python {value!r}: no such file {python}")
    return f"{base}@{label}", python
