"""`convtx new`: write a case from command-line flags, its expected tensor computed for you.

Tensors and argument values are YAML flow text (`--input '{shape: [1,1,3,3], fill: 1}'`,
`--arg stride=2`, `--arg 'padding=[1, 0]'`).  The case is validated by the same code as every
case file, its expected output computed by the reference (or `--compute-with` another system), and
shown before it is written.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import yaml

from convtx.adapters import REFERENCE
from convtx.harness import semantics
from convtx.harness.caseformat.casefile import validate
from convtx.harness.core.errors import CaseError, UsageError
from convtx.harness.caseformat.yamlsrc import load_yaml
from convtx.harness.caseformat.writer import dump, plain_numbers, write_validated


def add_parser(sub) -> None:
    p = sub.add_parser("new", help="write a new case from flags, expected output computed")
    p.add_argument("--id", required=True)
    p.add_argument("--framework", required=True,
                   help=f"whose argument names and layouts: {', '.join(semantics.FRAMEWORKS)}")
    p.add_argument("--op", default="conv_transpose", choices=("conv_transpose", "conv"))
    p.add_argument("--arg", action="append", default=[], metavar="NAME=VALUE",
                   help="a framework argument; VALUE is YAML (2, [1, 0], same, null)")
    p.add_argument("--input", required=True, metavar="TENSOR", help="YAML: nested list or {shape, fill|arange|random|values}")
    p.add_argument("--weight", required=True, metavar="TENSOR")
    p.add_argument("--bias", metavar="TENSOR")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--title", default="")
    p.add_argument("--notes", default="")
    p.add_argument("--tag", action="append", default=[])
    p.add_argument("--compute-with", default=REFERENCE, metavar="SYSTEM",
                   help="who computes the expected tensor (default: the NumPy reference)")
    p.add_argument("--shape-only", action="store_true", help="record only the expected shape")
    p.add_argument("--out", help="file to write (default: cases/user/<id>.yaml)")
    p.add_argument("--dry-run", action="store_true", help="show the case, write nothing")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")


def _flow(text: str, flag: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise UsageError(f"{flag}: not valid YAML: {str(err).splitlines()[0]}") from None


def _case_data(args) -> dict:
    data = {"id": args.id, "framework": args.framework}
    if args.title:
        data["title"] = args.title
    if args.op != "conv_transpose":
        data["op"] = args.op
    if args.dtype != "float32":
        data["dtype"] = args.dtype
    case_args = {}
    for item in args.arg:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--arg {item!r}: expected NAME=VALUE")
        case_args[name.strip()] = _flow(value, f"--arg {name}")
    data["args"] = case_args
    for key in ("input", "weight", "bias"):
        if getattr(args, key) is not None:
            data[key] = _flow(getattr(args, key), f"--{key}")
    if args.notes:
        data["notes"] = args.notes
    if args.tag:
        data["tags"] = list(args.tag)
    return data


def compute_expected(entry, system: str) -> np.ndarray:
    from convtx.harness.core.tensors import round_to_dtype
    from convtx.harness.engine.cell import compute_with

    canonical = compute_with(system, entry)
    return round_to_dtype(entry.reading.from_canonical_output(canonical), entry.case.dtype)


def run(args) -> int:
    data = _case_data(args)
    path = args.out or os.path.join("cases", "user", f"{args.id}.yaml")
    draft = load_yaml(path, dump(data))
    try:
        entry = validate(draft, draft.mark, pending_expected=True)
    except CaseError as err:
        print(f"convtx new: {err.message if err.field is None else f'{err.field}: {err.message}'}",
              file=sys.stderr)
        return 2
    if entry.refusal is not None:
        print(f"convtx new: {args.framework} refuses this call: {entry.refusal}", file=sys.stderr)
        return 2
    if args.shape_only:
        data["expected"] = {"shape": list(entry.understood.output_shape())}
    else:
        data["expected"] = plain_numbers(compute_expected(entry, args.compute_with))
        data.setdefault("notes", f"expected computed by convtx new with {args.compute_with}")
    text = dump(data)
    print(f"# {path}\n{text}", end="")
    if args.dry_run:
        return 0
    if os.path.exists(path) and not args.force:
        raise UsageError(f"{path} exists (use --force to overwrite, or --out another file)")
    write_validated(path, data)
    print(f"wrote {path}")
    return 0
