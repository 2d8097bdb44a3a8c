"""Safe YAML loading that remembers where every value came from.

PyYAML's composer gives nodes with positions; we build plain dicts and lists from them ourselves
(`SDict`, `SList`) that also record the line/column and the raw text of each child, so a validator
can say `cases/x.yaml:12:9: case 'a': args.stride: ...` and can tell `1e-5` (a *string* in YAML 1.1)
from a number.  Only the standard YAML tags are accepted: `!!python/...` and any other explicit tag
is refused before anything is constructed, so loading a case never runs code.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from convtx.harness.core.errors import CaseError, Mark

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


def _mark(path: str, node: Node) -> Mark:
    return Mark(path, node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, path: str):
        self.path = path
        self.scalars = yaml.SafeLoader("")  # only its scalar constructors are used

    def build(self, node: Node) -> Any:
        if node.tag not in _SAFE_TAGS:
            raise CaseError(_mark(self.path, node),
                            f"YAML tag {node.tag!r} is not allowed (cases are loaded safely: "
                            "plain mappings, lists, numbers and strings only)")
        if isinstance(node, MappingNode):
            return self._mapping(node)
        if isinstance(node, SequenceNode):
            return self._sequence(node)
        assert isinstance(node, ScalarNode)
        return self.scalars.construct_object(node, deep=True)

    def _raw(self, node: Node) -> str | None:
        return node.value if isinstance(node, ScalarNode) else None

    def _mapping(self, node: MappingNode) -> SDict:
        out = SDict()
        out.mark, out.key_marks, out.value_marks, out.raw = _mark(self.path, node), {}, {}, {}
        for knode, vnode in node.value:
            key = self.build(knode)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise CaseError(_mark(self.path, knode), "mapping keys must be plain names")
            key = str(key) if not isinstance(key, str) else key
            if key in out:
                raise CaseError(_mark(self.path, knode), f"key {key!r} appears twice in one mapping")
            out[key] = self.build(vnode)
            out.key_marks[key] = _mark(self.path, knode)
            out.value_marks[key] = _mark(self.path, vnode)
            out.raw[key] = self._raw(vnode)
        return out

    def _sequence(self, node: SequenceNode) -> SList:
        out = SList(self.build(item) for item in node.value)
        out.mark = _mark(self.path, node)
        out.marks = [_mark(self.path, item) for item in node.value]
        out.raw = [self._raw(item) for item in node.value]
        return out


def load_yaml(path: str, text: str | None = None) -> Any:
    """Parse one YAML file into SDict/SList/scalars, or raise CaseError with a position."""
    if text is None:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(path, mark.line + 1, mark.column + 1) if mark else Mark(path, 1, 1)
        problem = ", ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise CaseError(where, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise CaseError(Mark(path, 1, 1), f"YAML error: {exc}") from None
    if node is None:
        return None
    return _Builder(path).build(node)
