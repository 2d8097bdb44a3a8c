"""`convtx import onnx`: ONNX's own ConvTranspose node test cases as convtx cases.

The installed onnx package carries its operator test cases as code
(`onnx.backend.test.case.node.convtranspose.ConvTranspose.export*`), each ending in
`expect(node, inputs, outputs, name)`.  We call every export function with `expect` captured, and
write each case's node attributes, inputs and expected output - values taken from ONNX, not
recomputed by us - as a YAML case in the onnx dialect, its provenance in `source` and `notes`.
"""

from __future__ import annotations

import os

import numpy as np

from convtx.harness.core.errors import UsageError
from convtx.harness.caseformat.writer import plain_numbers, write_validated


def _captured_cases() -> list[tuple[str, str, object, list, list]]:
    """(export function, test name, node, inputs, outputs) for each ConvTranspose test case."""
    try:
        from onnx.backend.test.case.node import convtranspose
    except ImportError:
        raise UsageError("the onnx package is not installed (pip install '.[onnx]')") from None
    captured = []
    original = convtranspose.expect
    try:
        for attr in sorted(vars(convtranspose.ConvTranspose)):
            if not attr.startswith("export"):
                continue

            def capture(node, inputs, outputs, name, _fn=attr, **_):
                captured.append((_fn, name, node, list(inputs), list(outputs)))
            convtranspose.expect = capture
            getattr(convtranspose.ConvTranspose, attr)()
    finally:
        convtranspose.expect = original
    return captured


def _attributes(node) -> dict:
    from onnx import helper
    out = {}
    for attr in node.attribute:
        value = helper.get_attribute_value(attr)
        if isinstance(value, bytes):
            value = value.decode()
        elif not isinstance(value, (int, float, str)):
            value = [int(v) for v in value]
        out[attr.name] = value
    return out


def _plain(arr: np.ndarray):
    return {"shape": list(arr.shape), "values": plain_numbers(np.ravel(arr))}


def onnx_cases() -> list[dict]:
    import onnx

    cases = []
    for fn, name, node, inputs, outputs in _captured_cases():
        case = {
            "id": "onnx-" + name.removeprefix("test_").replace("_", "-"),
            "title": f"ONNX's own test case {name}",
            "framework": "onnx",
            "args": _attributes(node),
            "input": _plain(inputs[0]),
            "weight": _plain(inputs[1]),
        }
        if len(inputs) > 2:
            case["bias"] = _plain(inputs[2])
        case["expected"] = _plain(outputs[0])
        case["dtype"] = str(np.asarray(inputs[0]).dtype) if str(np.asarray(inputs[0]).dtype) in (
            "float16", "float32", "float64") else "float32"
        case["source"] = {"document": f"onnx {onnx.__version__}: onnx/backend/test/case/node/convtranspose.py",
                          "where": f"ConvTranspose.{fn}, expect(..., name={name!r})"}
        case["notes"] = ("Imported by `convtx import onnx`: inputs, attributes and the expected output are ONNX's "
                         "own, not recomputed by convtx.")
        case["tags"] = ["onnx-test", "imported"]
        cases.append(case)
    return cases


def add_parser(sub) -> None:
    p = sub.add_parser("import", help="import another project's test cases as convtx cases")
    p.add_argument("source", choices=("onnx",), help="onnx: ONNX's ConvTranspose node test cases")
    p.add_argument("--out", default=os.path.join("cases", "onnx"), help="folder (default cases/onnx)")


def run(args) -> int:
    cases = onnx_cases()
    os.makedirs(args.out, exist_ok=True)
    for case in cases:
        path = os.path.join(args.out, f"{case['id']}.yaml")
        write_validated(path, case)
        print(f"wrote {path}")
    print(f"{len(cases)} case(s) imported from ONNX")
    return 0
