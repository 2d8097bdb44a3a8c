"""Tensors from NumPy files beside the case: `{file: x.npy}` and `{file: t.npz, array: key}`."""

from __future__ import annotations

import numpy as np

from convtx.harness.caseformat.casefile import load_suite

CASE = """id: from-files
framework: torch
args: {stride: 2}
input: {file: x.npy}
weight: {file: t.npz, array: w}
expected: {file: t.npz, array: %s}
"""
X = np.arange(18, dtype=np.float32).reshape(1, 2, 3, 3)
W = np.linspace(-1, 1, 2 * 3 * 2 * 2).reshape(2, 3, 2, 2)


def _expected() -> np.ndarray:
    """ConvTranspose2d(2, 3, 2, stride=2) by hand: each input pixel scatters a 2x2 block."""
    y = np.zeros((1, 3, 6, 6))
    for c in range(2):
        for i in range(3):
            for j in range(3):
                y[0, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2] += X[0, c, i, j] * W[c]
    return y


def _write(tmp_path, expected: str = "y", **arrays) -> str:
    np.save(tmp_path / "x.npy", arrays.get("x", X))
    np.savez(tmp_path / "t.npz", w=W, y=arrays.get("y", _expected()), text=np.array(["a", "b"]))
    path = tmp_path / "case.yaml"
    path.write_text(CASE % expected, encoding="utf-8")
    return str(path)


def test_tensors_come_from_the_files(tmp_path):
    suite = load_suite([_write(tmp_path)])
    assert not suite.errors
    case = suite.entries[0].case
    assert case.input.shape == (1, 2, 3, 3) and np.array_equal(case.input.values, X)
    assert case.expected.kind == "tensor" and np.allclose(case.expected.spec.values, _expected())


def test_a_case_from_files_passes_on_the_reference(tmp_path, cli):
    code, out, err = cli("run", _write(tmp_path), "--frameworks", "numpy", "--quiet", "--no-cache")
    assert code == 0, out + err


def test_a_wrong_expected_file_fails(tmp_path, cli):
    code, out, _ = cli("run", _write(tmp_path, y=_expected() + 1.0), "--frameworks", "numpy", "--quiet", "--no-cache")
    assert code == 1 and "mismatch" in out


def _error(tmp_path, **kw) -> str:
    suite = load_suite([_write(tmp_path, **kw)])
    assert not suite.entries and len(suite.errors) == 1
    return str(suite.errors[0])


def test_positioned_errors(tmp_path):
    assert "case.yaml:6:" in _error(tmp_path, expected="nope") and "has no array 'nope'" in _error(tmp_path, expected="nope")
    assert "holds a <U1 array" in _error(tmp_path, expected="text")
    assert "NaN or inf" in _error(tmp_path, x=np.full((1, 2, 3, 3), np.nan))
    assert "but shape says" not in _error(tmp_path, expected="nope")


def test_shape_given_must_match(tmp_path):
    np.save(tmp_path / "x.npy", X)
    (tmp_path / "c.yaml").write_text("id: a\nframework: torch\ninput: {file: x.npy, shape: [1, 2, 9]}\n"
                                     "weight: {shape: [2, 1, 1, 1], fill: 1}\nexpected: {shape: [1, 1, 3, 3]}\n")
    suite = load_suite([str(tmp_path / "c.yaml")])
    assert "x.npy holds shape [1, 2, 3, 3] but shape says [1, 2, 9]" in str(suite.errors[0])
