"""Writing cases: the YAML text convtx writes (`new`, `fuzz`, `import onnx`), validated by the same code
as `convtx validate` before it is written, so that nothing convtx writes can fail validation."""

from __future__ import annotations

from typing import Any

import numpy as np
import yaml

from convtx.harness.caseformat.casefile import Entry, validate_text
from convtx.harness.core.files import write_atomic


def dump(data: Any) -> str:
    """One case (a mapping) or several (a list) as YAML, keys in the order given, lists of numbers inline."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=110, allow_unicode=True)


def plain_numbers(values: Any) -> Any:
    """A tensor as nested lists of plain numbers: integers where the value is one (exactly), else floats."""
    arr = np.asarray(values, dtype=np.float64)
    flat = [int(v) if float(v).is_integer() and abs(v) < 2**53 else float(v) for v in arr.ravel()]
    return np.array(flat, dtype=object).reshape(arr.shape).tolist()


def write_validated(path: str, data: Any) -> list[Entry]:
    """Dump, validate (raises CaseError, nothing written), then write atomically; the valid entries."""
    text = dump(data)
    entries = validate_text(path, text)
    write_atomic(path, text)
    return entries
