"""Safe YAML loading that remembers where every value came from, fast on large tensors.

The document is read from libyaml's events (PyYAML's C parser, `CSafeLoader`; the pure-Python one
where libyaml is missing) into plain dicts and lists (`SDict`, `SList`) that also record the
line/column and the raw text of each child, so a validator can say `cases/x.yaml:12:9: case 'a':
args.stride: ...` and can tell `1e-5` (a *string* in YAML 1.1) from a number.  Only the standard
YAML tags are accepted: `!!python/...` and any other explicit tag is refused before anything is
constructed, so loading a case never runs code.

Large tensors: a rectangular nested list of at least `PACK_MIN` plain, finite numbers (decimal
integers and floats with a dot, the only spellings whose YAML 1.1 reading is unambiguous) becomes
one `SArray` (a float64 array and the list's mark) instead of a Python object and a mark per
number: nothing about such a list can be wrong element by element, so no element's position is
ever needed.  Anything else (a string, a boolean, `.inf`, a ragged row, a short list) is built
item by item with every position, as before.
"""

from __future__ import annotations

import math
import re
from array import array
from typing import Any

import numpy as np
import yaml
from yaml.events import (AliasEvent, MappingEndEvent, MappingStartEvent, ScalarEvent, SequenceEndEvent,
                         SequenceStartEvent, StreamEndEvent)
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from convtx.harness.core.errors import CaseError, Mark

PACK_MIN = 64  # numbers in a rectangular block from which it is read as one array
_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NUMBER = re.compile(r"[-+]?(?:0|[1-9][0-9]*|[0-9]+\.[0-9]*(?:[eE][-+][0-9]+)?)\Z")  # YAML 1.1 reads these alike
_SAFE_TAGS = {
    "tag:yaml.org,2002:" + t
    for t in ("null", "bool", "int", "float", "str", "map", "seq", "timestamp", "binary")
}


class SDict(dict):
    """A mapping from YAML, with the mark of itself and of each key and value."""

    mark: Mark
    key_marks: dict
    value_marks: dict
    raw: dict


class SList(list):
    """A sequence from YAML, with the mark of itself and of each item."""

    mark: Mark
    marks: list
    raw: list


class SArray:
    """A rectangular nested list of plain finite numbers from YAML, as one float64 array."""

    __slots__ = ("array", "mark")

    def __init__(self, values: np.ndarray, mark: Mark):
        self.array = values
        self.mark = mark

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    def __len__(self) -> int:
        return int(self.array.shape[0])

    def tolist(self) -> list:
        return self.array.tolist()

    def __repr__(self) -> str:
        head = ", ".join(f"{v:g}" for v in self.array.ravel()[:4])
        return f"[{head}, ...] (a {'x'.join(map(str, self.shape))} list of numbers)"


class _Block:
    """A numeric nested list being read: its shape and values; `rows` keep what a small one needs to
    become an SList with every position (the numbers' raw text and libyaml marks, or sub-blocks)."""

    __slots__ = ("shape", "mark", "flat", "raws", "marks", "rows")

    def __init__(self, shape: tuple[int, ...], mark: Mark, flat, raws=None, marks=None, rows=None):
        self.shape, self.mark, self.flat = shape, mark, flat
        self.raws, self.marks, self.rows = raws, marks, rows

    @property
    def big(self) -> bool:
        return isinstance(self.flat, array)


def _pos(path: str, mark) -> Mark:
    return Mark(path, mark.line + 1, mark.column + 1)


class _Reader:
    """Builds SDict/SList/SArray/scalars from a parser's events."""

    def __init__(self, path: str, parser, pack_min: int | float = PACK_MIN):
        self.path, self.next, self.pack_min = path, parser.get_event, pack_min
        self.scalars = yaml.SafeLoader("")  # only its resolver and scalar constructors are used
        self.anchors: dict[str, tuple[Any, Mark, str | None, Any]] = {}

    def document(self) -> Any:
        self.next()  # StreamStart
        start = self.next()
        if isinstance(start, StreamEndEvent):
            return None
        value = self.settle(self.node(self.next()))[0]
        self.next()  # DocumentEnd
        end = self.next()
        if not isinstance(end, StreamEndEvent):
            raise yaml.composer.ComposerError("expected a single document in the stream", start.start_mark,
                                              "but found another document", end.start_mark)
        return value

    def node(self, ev: Any) -> tuple[Any, Mark, str | None] | _Block:
        if isinstance(ev, AliasEvent):
            if ev.anchor not in self.anchors:
                where: Any = ev.start_mark
                raise yaml.composer.ComposerError(None, None, f"found undefined alias {ev.anchor!r}", where)
            return self.anchors[ev.anchor][:3]
        anchor = ev.anchor
        if anchor is not None and anchor in self.anchors:
            raise yaml.composer.ComposerError(f"found duplicate anchor {anchor!r}; first occurrence",
                                              self.anchors[anchor][3], "second occurrence", ev.start_mark)
        if isinstance(ev, ScalarEvent):
            got: Any = self.scalar(ev)
        elif isinstance(ev, SequenceStartEvent):
            got = self.sequence(ev)
        else:
            got = self.mapping(ev)
        if anchor is not None:
            got = self.settle(got)
            self.anchors[anchor] = (*got, ev.start_mark)
        return got

    def check_tag(self, ev, kind: type, value: str | None = None, implicit: Any = None) -> str:
        tag = ev.tag
        if tag is None or tag == "!":
            tag = self.scalars.resolve(kind, value, implicit if implicit is not None else ev.implicit)
        if tag not in _SAFE_TAGS:
            raise CaseError(_pos(self.path, ev.start_mark),
                            f"YAML tag {tag!r} is not allowed (cases are loaded safely: "
                            "plain mappings, lists, numbers and strings only)")
        return tag

    def scalar(self, ev) -> tuple[Any, Mark, str | None]:
        tag = self.check_tag(ev, ScalarNode, ev.value)
        node = ScalarNode(tag, ev.value, ev.start_mark, ev.end_mark, ev.style)
        if tag in ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            raise CaseError(_pos(self.path, ev.start_mark), f"YAML tag {tag!r} on a scalar")
        return self.scalars.yaml_constructors[tag](self.scalars, node), _pos(self.path, ev.start_mark), ev.value

    def mapping(self, start) -> tuple[SDict, Mark, None]:
        self.check_tag(start, MappingNode)
        out = SDict()
        out.mark, out.key_marks, out.value_marks, out.raw = _pos(self.path, start.start_mark), {}, {}, {}
        while True:
            ev = self.next()
            if isinstance(ev, MappingEndEvent):
                return out, out.mark, None
            key, key_mark, _ = self.settle(self.node(ev))
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise CaseError(key_mark, "mapping keys must be plain names")
            key = str(key) if not isinstance(key, str) else key
            if key in out:
                raise CaseError(key_mark, f"key {key!r} appears twice in one mapping")
            out[key], out.value_marks[key], out.raw[key] = self.settle(self.node(self.next()))
            out.key_marks[key] = key_mark

    def sequence(self, start) -> tuple[SList, Mark, None] | _Block:
        self.check_tag(start, SequenceNode)
        mark = _pos(self.path, start.start_mark)
        leaf = self.numbers(mark)
        if isinstance(leaf, _Block):
            return leaf
        items, ev = leaf
        while not isinstance(ev, SequenceEndEvent):
            items.append(self.node(ev))
            ev = self.next()
        shapes = {it.shape if isinstance(it, _Block) else None for it in items}
        if items and None not in shapes and len(shapes) == 1:
            return _merge(items, mark, self.pack_min)
        return self.slist([self.settle(it) for it in items], mark)

    def numbers(self, mark: Mark) -> _Block | tuple[list, Any]:
        """A row of plain numbers as a block; else the items read so far and the next event.

        (The hot loop of a large file: one pass per number, no call but the parser's and the match.)"""
        flat: list = []
        raws: list = []
        marks: list = []
        nxt, match, scalar = self.next, _NUMBER.match, ScalarEvent
        while True:
            ev = nxt()
            if type(ev) is not scalar or ev.tag is not None or ev.anchor is not None or not ev.implicit[0]:
                break
            text = ev.value
            if match(text) is None:
                break
            if "." in text:
                value: float = float(text)
                if value - value != 0.0:  # inf (a float too large): not a finite number
                    break
            else:
                value = int(text)
            flat.append(value)
            raws.append(text)
            marks.append(ev.start_mark)
            if len(flat) == self.pack_min:
                return self.long_row(mark, array("d", flat))
        if type(ev) is SequenceEndEvent and flat:
            return _Block((len(flat),), mark, flat, raws, marks)
        return [(v, _pos(self.path, m), r) for v, m, r in zip(flat, marks, raws)], ev

    def long_row(self, mark: Mark, flat: array) -> _Block | tuple[list, Any]:
        """The rest of a row of at least PACK_MIN plain numbers (their positions are never needed)."""
        nxt, match, scalar, append = self.next, _NUMBER.match, ScalarEvent, flat.append
        while True:
            ev = nxt()
            if type(ev) is not scalar or ev.tag is not None or ev.anchor is not None or not ev.implicit[0]:
                break
            text = ev.value
            if match(text) is None:
                break
            value = float(text)
            if value - value != 0.0:
                break
            append(value)
        if type(ev) is SequenceEndEvent:
            return _Block((len(flat),), mark, flat)
        raise _Exact  # a long row of numbers, then something else: read the file again, every position kept

    def slist(self, items: list[tuple[Any, Mark, str | None]], mark: Mark) -> tuple[SList, Mark, None]:
        out = SList(it[0] for it in items)
        out.mark, out.marks, out.raw = mark, [it[1] for it in items], [it[2] for it in items]
        return out, mark, None

    def settle(self, got: tuple[Any, Mark, str | None] | _Block) -> tuple[Any, Mark, str | None]:
        """A finished value: a block becomes an SArray (large) or an SList with every position (small)."""
        if not isinstance(got, _Block):
            return got
        if got.big:
            return SArray(np.frombuffer(got.flat, dtype=np.float64).reshape(got.shape), got.mark), got.mark, None
        if got.rows is None:
            items = [(v, _pos(self.path, m), r) for v, m, r in zip(got.flat, got.marks, got.raws)]
        else:
            items = [self.settle(row) for row in got.rows]
        return self.slist(items, got.mark)


class _Exact(Exception):
    """A list of numbers turned out irregular after the first PACK_MIN of them."""


def _merge(blocks: list[_Block], mark: Mark, pack_min: int | float) -> _Block:
    """Equal-shaped blocks as the rows of one block."""
    shape = (len(blocks), *blocks[0].shape)
    if len(blocks) * len(blocks[0].flat) < pack_min:
        return _Block(shape, mark, [v for b in blocks for v in b.flat], rows=blocks)
    flat = array("d")
    for b in blocks:
        flat.extend(b.flat if isinstance(b.flat, array) else array("d", b.flat))
    return _Block(shape, mark, flat)


def load_yaml(path: str, text: str | None = None) -> Any:
    """Parse one YAML file into SDict/SList/SArray/scalars, or raise CaseError with a position."""
    if text is None:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    try:
        try:
            return _read(path, text, PACK_MIN)
        except _Exact:
            return _read(path, text, math.inf)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(path, mark.line + 1, mark.column + 1) if mark else Mark(path, 1, 1)
        problem = ", ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise CaseError(where, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise CaseError(Mark(path, 1, 1), f"YAML error: {exc}") from None


def _read(path: str, text: str, pack_min: int | float) -> Any:
    parser = _PARSER(text)
    try:
        return _Reader(path, parser, pack_min).document()
    finally:
        parser.dispose()
