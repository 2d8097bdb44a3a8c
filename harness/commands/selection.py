"""Choosing cases as pytest users do: `-k EXPR` over id, title and tags, and `--lf` (the last failures).

`-k` takes pytest's keyword expressions: words matched as case-insensitive substrings of a case's
id, title and tags, combined with `and`, `or`, `not` and parentheses (`-k "doc000 and not op1"`).
The last run's failures are kept in `.convtx/lastfailed.json` in the current folder (written
atomically after every `convtx run`), which `--lf` reads.
"""

from __future__ import annotations

import json
import os
import re
from typing import Iterable

from convtx.harness.caseformat.casefile import Entry, Suite
from convtx.harness.core.errors import UsageError
from convtx.harness.core.files import write_atomic
from convtx.harness.engine.results import RunResults

LASTFAILED = os.path.join(".convtx", "lastfailed.json")
_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


def keyword_matcher(expression: str):
    """A predicate over a case's words (id, title, tags) for a -k expression; UsageError if malformed."""
    tokens = _TOKEN.findall(expression)
    if not tokens:
        raise UsageError("-k: empty expression")
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def parse_or():
        left = parse_and()
        while peek() == "or":
            take()
            left = _either(left, parse_and())
        return left

    def parse_and():
        left = parse_not()
        while peek() == "and":
            take()
            left = _both(left, parse_not())
        return left

    def parse_not():
        if peek() == "not":
            take()
            inner = parse_not()
            return lambda words: not inner(words)
        if peek() == "(":
            take()
            inner = parse_or()
            if take_or_none() != ")":
                raise UsageError(f"-k {expression!r}: missing ')'")
            return inner
        word = take_or_none()
        if word is None or word in ("and", "or", ")"):
            raise UsageError(f"-k {expression!r}: expected a word, got {word or 'the end'}")
        needle = word.lower()
        return lambda words: any(needle in w for w in words)

    def take_or_none() -> str | None:
        return take() if peek() is not None else None

    predicate = parse_or()
    if pos != len(tokens):
        raise UsageError(f"-k {expression!r}: unexpected {tokens[pos]!r}")
    return predicate


def _either(a, b):
    return lambda words: a(words) or b(words)


def _both(a, b):
    return lambda words: a(words) and b(words)


def words_of(entry: Entry) -> list[str]:
    case = entry.case
    return [w.lower() for w in (case.id, case.title, case.framework, *case.tags)]


def select(suite: Suite, keyword: str | None = None, last_failed: bool = False) -> Suite:
    """The suite narrowed by -k and --lf (invalid cases stay: they are reported whatever is selected)."""
    entries = suite.entries
    if keyword:
        matches = keyword_matcher(keyword)
        entries = [e for e in entries if matches(words_of(e))]
    if last_failed:
        failed = read_last_failed()
        if failed:  # nothing recorded: run everything, as pytest does
            entries = [e for e in entries if e.case.id in failed]
    return Suite(entries=list(entries), errors=suite.errors, files=suite.files)


def read_last_failed(path: str = LASTFAILED) -> set[str]:
    """The case ids the last run left failing (empty if none recorded or the file is unreadable)."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return {str(c) for c in data.get("cases", [])}
    except (OSError, ValueError, AttributeError):
        return set()


def record_failures(run: RunResults, selected: Iterable[Entry], path: str = LASTFAILED) -> None:
    """Update the record: cases that ran now are replaced by their new outcome, others kept."""
    ran = {e.case.id for e in selected}
    failed = (read_last_failed(path) - ran) | {r.case for r in run.failing()}
    try:
        write_atomic(path, json.dumps({"cases": sorted(failed)}, indent=1) + "\n")
    except OSError:
        pass  # a read-only folder costs the record, never the run
