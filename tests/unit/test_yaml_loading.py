"""The fast YAML loader (libyaml events, large numeric lists as one array) reads every file exactly as the
positioned loader it replaced (PyYAML's pure-Python composer, a Python object and a mark per value):
the same values, the same marks, the same raw text, the same errors at the same places."""

from __future__ import annotations

import os

import numpy as np
import pytest
import yaml

from convtx.harness.caseformat.casefile import load_suite
from convtx.harness.caseformat.yamlsrc import PACK_MIN, SArray, SDict, SList, load_yaml
from convtx.harness.core.errors import CaseError, Mark
from support import BAD_CASES

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _mark(path, node) -> Mark:
    return Mark(path, node.start_mark.line + 1, node.start_mark.column + 1)


def slow(path: str, text: str):
    """The previous loader: the pure-Python composer, then one positioned object per node."""
    loader = yaml.SafeLoader("")

    def build(node):
        if node.tag.startswith("tag:yaml.org,2002:python") or not node.tag.startswith("tag:yaml.org,2002:"):
            raise CaseError(_mark(path, node), f"YAML tag {node.tag!r} is not allowed")
        if isinstance(node, yaml.MappingNode):
            out = SDict()
            out.mark, out.key_marks, out.value_marks, out.raw = _mark(path, node), {}, {}, {}
            for k, v in node.value:
                key = str(build(k))
                if key in out:
                    raise CaseError(_mark(path, k), f"key {key!r} appears twice in one mapping")
                out[key], out.key_marks[key], out.value_marks[key] = build(v), _mark(path, k), _mark(path, v)
                out.raw[key] = v.value if isinstance(v, yaml.ScalarNode) else None
            return out
        if isinstance(node, yaml.SequenceNode):
            out = SList(build(i) for i in node.value)
            out.mark, out.marks = _mark(path, node), [_mark(path, i) for i in node.value]
            out.raw = [i.value if isinstance(i, yaml.ScalarNode) else None for i in node.value]
            return out
        return loader.construct_object(node, deep=True)
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    return None if node is None else build(node)


def same(fast, ref, where="") -> None:
    if isinstance(fast, SArray):
        assert np.array_equal(fast.array, np.asarray(ref, dtype=np.float64)), where
        assert fast.mark == ref.mark and fast.array.size >= PACK_MIN, where
        return
    assert type(fast) is type(ref), (where, fast, ref)
    if isinstance(ref, SDict):
        assert list(fast) == list(ref) and fast.mark == ref.mark, where
        assert fast.key_marks == ref.key_marks and fast.value_marks == ref.value_marks and fast.raw == ref.raw, where
        for key in ref:
            same(fast[key], ref[key], f"{where}.{key}")
    elif isinstance(ref, SList):
        assert len(fast) == len(ref) and fast.mark == ref.mark and fast.marks == ref.marks, where
        assert fast.raw == ref.raw, where
        for i, (a, b) in enumerate(zip(fast, ref)):
            same(a, b, f"{where}[{i}]")
    else:
        assert fast == ref or (fast != fast and ref != ref), (where, fast, ref)


def _yaml_files() -> list[str]:
    out = []
    for folder in (os.path.join(ROOT, "cases"), BAD_CASES, os.path.join(ROOT, "adapters", "known_bugs")):
        for root, _, files in os.walk(folder):
            out += [os.path.join(root, f) for f in sorted(files) if f.endswith(".yaml")]
    return out


@pytest.mark.parametrize("path", _yaml_files(), ids=os.path.basename)
def test_every_shipped_file_reads_as_before(path):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        ref = slow(path, text)
    except (yaml.YAMLError, CaseError) as err:
        with pytest.raises(CaseError) as got:
            load_yaml(path, text)
        if isinstance(err, yaml.MarkedYAMLError):  # the same place; libyaml's own words
            mark = err.problem_mark
            err = CaseError(Mark(path, mark.line + 1, mark.column + 1), "YAML syntax error: ")
        assert str(got.value).startswith(str(err))
        return
    same(load_yaml(path, text), ref)


TRICKY = [
    "a: [1, 2.5, -0, +3, 0.0, -0.0, 1., 1.0e+5, 1e5, 1.0e5, 012, 0x1F, 1_000, 1:30, .5, .inf, -.inf, .nan]",
    "a: [yes, no, on, off, ~, null, '1', \"2\", !!float 3, !!str 4, 2001-12-14]",
    "a: &x [1, 2, 3]\nb: *x\nc: [*x, *x]",
    "- [[1, 2], [3, 4]]\n- [[1, 2], [3]]\n- [[1, 2], 3]\n- [1, [2]]\n- []\n- [[]]\n",
    "a:\n  - - 1\n    - 2\n  - - 3\n    - 4\n",
    "a: [" + ", ".join(str(i) for i in range(PACK_MIN * 3)) + "]",
    "a: [" + ", ".join(str(i) for i in range(PACK_MIN + 5)) + ", x, 1.0e+999, [1]]",
    "a: [" + ", ".join(f"[{i}.5, {i}]" for i in range(PACK_MIN)) + "]",
    "a: [" + ", ".join(f"[{i}.5, {i}]" for i in range(PACK_MIN)) + ", [1]]",
    "a: [" + ", ".join(f"[[{i}, 1], [2, 3]]" for i in range(PACK_MIN)) + "]",
    "a: [1.0e+999, 1]\nb: [" + ", ".join("1.0e+400" for _ in range(PACK_MIN + 1)) + "]",
]


@pytest.mark.parametrize("text", TRICKY, ids=range(len(TRICKY)))
def test_tricky_spellings_read_as_before(text):
    same(load_yaml("t.yaml", text), slow("t.yaml", text))


def test_a_large_tensor_is_one_array_and_errors_keep_their_place(tmp_path):
    rows = [[float(i * 8 + j) / 4 for j in range(8)] for i in range(40)]
    data = load_yaml("t.yaml", f"expected: {rows}\n")
    assert isinstance(data["expected"], SArray) and data["expected"].shape == (40, 8)
    bad = [[str(v) for v in r] for r in rows]
    bad[30][5] = "1e-5"  # a string in YAML 1.1
    path = tmp_path / "bad.yaml"
    path.write_text("- id: a\n  framework: torch\n  input: [[[1]]]\n  weight: [[[1]]]\n"
                    "  expected: [" + ",\n    ".join("[" + ", ".join(r) + "]" for r in bad) + "]\n")
    (err,) = load_suite([str(path)]).errors
    line = path.read_text().splitlines()[34]
    assert err.mark == Mark(str(path), 35, line.index("1e-5") + 1) and "'1e-5' is a string in YAML 1.1" in str(err)


def test_two_documents_and_undefined_aliases_are_positioned():
    for text, words in (("a: 1\n---\nb: 2\n", "expected a single document"), ("a: *nope\n", "undefined alias"),
                        ("a: &x 1\nb: &x 2\n", "duplicate anchor")):
        with pytest.raises(CaseError, match=words):
            load_yaml("t.yaml", text)
