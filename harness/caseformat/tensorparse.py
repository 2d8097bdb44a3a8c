"""Reading tensors and numbers out of positioned YAML, with messages that say how to fix them.

YAML 1.1 traps are caught here: `1e-5` is a *string* to PyYAML (write `1.0e-5`), and
`yes`/`no`/`on`/`off` are booleans.  Nested lists must be rectangular; NaN and inf are refused
unless the case sets `allow_nonfinite: true`; no tensor may exceed `MAX_ELEMENTS`.  A large list of
plain numbers arrives as one array (`yamlsrc.SArray`: already rectangular, numeric and finite) and is
taken as it is, without a Python object per number.  A very large tensor can live in a NumPy file
beside the case: `{file: name.npy}` or `{file: name.npz, array: key}` (path relative to the case file;
read without pickles; the same checks as inline values: numeric, finite unless allowed, the size limit,
the shape if one is given).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from convtx.harness.core.errors import CaseError, Mark
from convtx.harness.core.tensors import MAX_ELEMENTS, TensorSpec
from convtx.harness.caseformat.yamlsrc import SArray, SDict, SList

_SOURCES = ("values", "fill", "arange", "random", "file")


def number(value: Any, raw: str | None, mark: Mark, field: str, *, allow_nonfinite: bool = True) -> float:
    """A YAML scalar that must be a number; explains the YAML 1.1 traps."""
    if isinstance(value, bool):
        text = raw if raw is not None else str(value)
        raise CaseError(mark, f"{text!r} was read as the boolean {str(value).lower()} (YAML 1.1), "
                              "not a number", field=field)
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            raise CaseError(mark, f"{value!r} is not a number", field=field) from None
        raise CaseError(mark, f"{value!r} is a string in YAML 1.1, not a number: write it with a dot "
                              f"and a signed exponent, e.g. {_yaml11_float(value)}", field=field)
    if value is None:
        raise CaseError(mark, "empty value where a number belongs", field=field)
    if not isinstance(value, (int, float)):
        raise CaseError(mark, f"{value!r} is not a number", field=field)
    if not allow_nonfinite and not math.isfinite(value):
        raise CaseError(mark, f"{value} is not a finite number (NaN and inf are allowed only in a case "
                              "that sets allow_nonfinite: true)", field=field)
    return float(value) if isinstance(value, float) else value


def _yaml11_float(text: str) -> str:
    mantissa, _, exp = text.lower().partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    if exp and exp[0] not in "+-":
        exp = "+" + exp
    return f"{mantissa}e{exp}" if exp else mantissa


class TensorReader:
    def __init__(self, allow_nonfinite: bool):
        self.allow_nonfinite = allow_nonfinite

    def tensor(self, parent: SDict, key: str) -> TensorSpec:
        value, mark = parent[key], parent.value_marks[key]
        if isinstance(value, (SList, SArray)):
            arr = self.nested(value, key)
            return TensorSpec(arr.shape, "values", arr)
        if isinstance(value, SDict):
            return self._mapping(value, key)
        raise CaseError(mark, "expected a nested list of numbers or a mapping with shape and one of "
                              f"{', '.join(_SOURCES)}", field=key)

    def shape(self, parent: SDict, key: str, field: str) -> tuple[int, ...]:
        value, mark = parent[key], parent.value_marks[key]
        if (not isinstance(value, SList) or not value
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)):
            raise CaseError(mark, f"expected a list of positive integers, got {value!r}", field=field)
        shape = tuple(value)
        size = int(np.prod(shape, dtype=np.int64))
        if size > MAX_ELEMENTS:
            raise CaseError(mark, f"{size:,} elements exceed the limit of {MAX_ELEMENTS:,} per tensor",
                            field=field)
        return shape

    def _mapping(self, spec: SDict, key: str) -> TensorSpec:
        unknown = set(spec) - {"shape", *_SOURCES} - ({"array"} if "file" in spec else set())
        if unknown:
            bad = sorted(unknown)[0]
            raise CaseError(spec.key_marks[bad], f"unknown key {bad!r} in a tensor (expected shape and "
                            f"one of {', '.join(_SOURCES)})", field=f"{key}.{bad}")
        given = [s for s in _SOURCES if s in spec]
        if len(given) != 1:
            raise CaseError(spec.mark, f"a tensor mapping needs exactly one of {', '.join(_SOURCES)}, "
                                       f"got {given or 'none'}", field=key)
        source = given[0]
        shape = self.shape(spec, "shape", f"{key}.shape") if "shape" in spec else None
        field = f"{key}.{source}"
        if source == "values":
            return self._values(spec, key, shape)
        if source == "file":
            return self._file(spec, key, shape)
        if shape is None:
            raise CaseError(spec.mark, f"{source} needs a shape", field=f"{key}.shape")
        raw, mark = spec.raw.get(source), spec.value_marks[source]
        if source == "random":
            seed = spec[source]
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                raise CaseError(mark, f"expected a non-negative integer seed, got {seed!r}", field=field)
            return TensorSpec(shape, "random", scalar=seed)
        value = number(spec[source], raw, mark, field, allow_nonfinite=self.allow_nonfinite)
        return TensorSpec(shape, source, scalar=value)

    def _values(self, spec: SDict, key: str, shape: tuple[int, ...] | None) -> TensorSpec:
        values, mark = spec["values"], spec.value_marks["values"]
        if not isinstance(values, (SList, SArray)):
            raise CaseError(mark, "expected a list (nested, or flat with a shape)", field=f"{key}.values")
        arr = self.nested(values, f"{key}.values")
        if shape is None:
            return TensorSpec(arr.shape, "values", arr)
        if arr.ndim == 1 and arr.size == int(np.prod(shape)):
            return TensorSpec(shape, "values", arr.reshape(shape))
        if arr.shape == shape:
            return TensorSpec(shape, "values", arr)
        raise CaseError(mark, f"values have shape {list(arr.shape)} ({arr.size} elements) but shape says "
                              f"{list(shape)} ({int(np.prod(shape))} elements)", field=f"{key}.values")

    def _file(self, spec: SDict, key: str, shape: tuple[int, ...] | None) -> TensorSpec:
        name, mark = spec["file"], spec.value_marks["file"]
        if not isinstance(name, str) or not name:
            raise CaseError(mark, f"expected a file name (.npy, or .npz with `array`), got {name!r}", field=f"{key}.file")
        array = spec.get("array")
        if name.endswith(".npz") != (array is not None):
            raise CaseError(mark, "a .npz file needs `array: NAME` (and only a .npz file has one)", field=f"{key}.file")
        arr = read_array(os.path.join(os.path.dirname(mark.path), name), array, mark, f"{key}.file")
        _check_size(arr.shape, mark, f"{key}.file")
        if not self.allow_nonfinite and not np.isfinite(arr).all():
            raise CaseError(mark, f"{name} holds NaN or inf (allowed only in a case that sets allow_nonfinite: "
                                  "true)", field=f"{key}.file")
        if shape is not None and arr.shape != shape:
            raise CaseError(mark, f"{name} holds shape {list(arr.shape)} but shape says {list(shape)}",
                            field=f"{key}.file")
        return TensorSpec(arr.shape, "values", arr)

    def nested(self, value: SList | SArray, field: str) -> np.ndarray:
        """A rectangular nested list of numbers -> float64 array."""
        if isinstance(value, SArray):
            _check_size(value.shape, value.mark, field)
            return value.array
        flat: list[float] = []
        shape = self._walk(value, value.mark, field, flat, [])
        _check_size(shape, value.mark, field)
        return np.asarray(flat, dtype=np.float64).reshape(shape)

    def _walk(self, value: Any, mark: Mark, field: str, flat: list, index: list) -> tuple[int, ...]:
        where = field + "".join(f"[{i}]" for i in index)
        if isinstance(value, SArray):  # a rectangular block of finite numbers (within a ragged or mixed list)
            flat.extend(value.array.ravel().tolist())
            return value.shape
        if not isinstance(value, SList):
            raise CaseError(mark, "expected a list", field=where)
        if not value:
            raise CaseError(mark, "empty list: every dimension must be >= 1", field=where)
        if not isinstance(value[0], (SList, SArray)):
            for i, item in enumerate(value):
                if isinstance(item, (SList, SArray)):
                    raise CaseError(value.marks[i], "ragged nested list: a list where a number belongs "
                                    f"(item {i} of a row of numbers)", field=f"{where}[{i}]")
                flat.append(number(item, value.raw[i], value.marks[i], f"{where}[{i}]",
                                   allow_nonfinite=self.allow_nonfinite))
            return (len(value),)
        first: tuple[int, ...] = ()  # the shape of item 0
        for i, item in enumerate(value):
            if not isinstance(item, (SList, SArray)):
                raise CaseError(value.marks[i], f"ragged nested list: a number where a list of shape "
                                f"{list(first)} belongs", field=f"{where}[{i}]")
            sub = self._walk(item, value.marks[i], field, flat, index + [i])
            if i == 0:
                first = sub
            elif sub != first:
                raise CaseError(value.marks[i], f"ragged nested list: item {i} has shape {list(sub)} but "
                                f"item 0 has {list(first)}", field=f"{where}[{i}]")
        return (len(value), *first)


def read_array(path: str, array: Any, mark: Mark, field: str) -> np.ndarray:
    """A numeric array from a .npy file, or one array of a .npz file, as float64 (no pickles)."""
    name = os.path.basename(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                arr = np.asarray(loaded[str(array)])
        else:
            arr = np.asarray(loaded)
    except KeyError:
        raise CaseError(mark, f"{name} has no array {array!r}", field=field) from None
    except (OSError, ValueError, EOFError) as err:
        raise CaseError(mark, f"cannot read {name}: {err}", field=field) from None
    if arr.dtype.kind not in "iuf" or arr.ndim == 0:
        raise CaseError(mark, f"{name} holds a {arr.dtype} array of shape {list(arr.shape)}, expected numbers "
                              "with at least one dimension", field=field)
    return arr.astype(np.float64, copy=False)


def _check_size(shape: tuple[int, ...], mark: Mark, field: str) -> None:
    size = int(np.prod(shape, dtype=np.int64))
    if size > MAX_ELEMENTS:
        raise CaseError(mark, f"{size:,} elements exceed the limit of {MAX_ELEMENTS:,} per tensor", field=field)
