"""Command-line options shared by several commands: the systems to run, and users' known-bug files."""

from __future__ import annotations

import argparse

from convtx.adapters import REFERENCE, load, split_id, systems
from convtx.harness.core.errors import UsageError


def add_systems_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frameworks", metavar="IDS",
                        help=f"comma-separated system ids (default: all of {', '.join(systems())})")


def add_known_bugs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--known-bugs", action="append", default=[], metavar="FILE",
                        help="a known-bug file of your own (same format as adapters/known_bugs/*.yaml; repeatable)")


def selected_systems(value: str | None, *, with_reference: bool = True) -> list[str]:
    """The ids named by --frameworks (UsageError for an unknown one), or every registered system."""
    known = systems()
    names = [n.strip() for n in (value or "").split(",") if n.strip()]
    if not names:
        return [s for s in known if with_reference or s != REFERENCE]
    for name in names:
        base, _ = split_id(name.split("@", 1)[0])
        if base not in known:
            raise UsageError(f"--frameworks: unknown {base} (known: {', '.join(known)})")
        try:
            load(name)
        except KeyError as err:
            raise UsageError(f"--frameworks: {err.args[0]}") from None
    return names
