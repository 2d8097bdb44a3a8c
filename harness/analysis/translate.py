"""`convtx translate`: one call, written in one framework's terms, said in every framework's.

`convtx translate --from torch --kernel 3 --stride 2 --padding 1 --output-padding 1 --input-size 3`
prints, per framework, the equivalent call (or why there is none), the weight conversion, the
output size, the crop per axis, and what a naive by-name port would give instead.  Any
`--name value` besides the fixed options is a source-framework argument (`--output-padding` is
`output_padding`; values are YAML: `--padding same`, `--padding '[[1, 0]]'`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import yaml

from convtx.adapters import load, speaker
from convtx.harness import semantics
from convtx.harness.core.errors import UsageError
from convtx.harness.semantics.naive import naive_port
from convtx.harness.semantics.common import canonical_weight_roles, channels_first


@dataclass
class Row:
    framework: str
    expressible: bool
    call: str
    weight_conversion: str
    output_size: list[int]
    crops: list[list[int]]
    reason: str = ""
    naive_port: str = ""


def add_parser(sub) -> None:
    p = sub.add_parser("translate", help="say one call in every framework's terms",
                       description=__doc__.split("\n\n")[1] if __doc__ else None)
    p.add_argument("--from", dest="source", required=True, choices=semantics.FRAMEWORKS)
    p.add_argument("--op", default="conv_transpose", choices=("conv_transpose", "conv"))
    p.add_argument("--kernel", required=True, help="kernel size: an int, or one per axis (3 or 3,2)")
    p.add_argument("--input-size", default="3", help="input spatial size (default 3)")
    p.add_argument("--ndim", type=int, choices=(1, 2, 3), help="spatial axes (default: from --kernel, else 2)")
    p.add_argument("--in-channels", type=int, default=1)
    p.add_argument("--out-channels", type=int, default=1)
    p.add_argument("--json", action="store_true")


def _sizes(text: str, n: int | None, flag: str) -> list[int]:
    try:
        vals = [int(v) for v in str(text).split(",")]
    except ValueError:
        raise UsageError(f"{flag}: expected integers, e.g. 3 or 3,2") from None
    if n is not None and len(vals) == 1:
        vals = vals * n
    return vals


def _source_args(extra: list[str]) -> dict:
    args, i = {}, 0
    while i < len(extra):
        flag = extra[i]
        if not flag.startswith("--") or i + 1 >= len(extra):
            raise UsageError(f"unexpected {flag!r}: framework arguments are --name value pairs")
        try:
            args[flag[2:].replace("-", "_")] = yaml.safe_load(extra[i + 1])
        except yaml.YAMLError:
            raise UsageError(f"{flag}: not a YAML value: {extra[i + 1]!r}") from None
        i += 2
    return args


def source_reading(args, extra: list[str]) -> tuple[semantics.Reading, dict]:
    kernel = _sizes(args.kernel, args.ndim, "--kernel")
    n = args.ndim or (len(kernel) if len(kernel) > 1 else 2)
    kernel = kernel * n if len(kernel) == 1 else kernel
    size = _sizes(args.input_size, n, "--input-size")
    if len(kernel) != n or len(size) != n:
        raise UsageError(f"--kernel and --input-size need {n} values (or one)")
    src = _source_args(extra)
    dialect = semantics.DIALECTS[args.source]
    layout = dialect.layout(args.op, dialect.check_args(args.op, src), n)
    canon_x = (1, args.in_channels, *size)
    c_w = (args.in_channels, args.out_channels) if args.op == "conv_transpose" else (args.out_channels, args.in_channels)
    roles_w = canonical_weight_roles(args.op, n)
    x_shape = tuple(canon_x[channels_first(n).index(r)] for r in layout.input)
    w_shape = tuple((*c_w, *kernel)[roles_w.index(r)] for r in layout.weight)
    return semantics.read(args.source, args.op, src, x_shape, w_shape, False), src


def rows_for(reading: semantics.Reading, source: str, src_args: dict) -> list[Row]:
    g = reading.geometry
    rows = []
    for name in semantics.FRAMEWORKS:
        adapter = load(speaker(name) or name)
        target = semantics.express(name, g) if name != source else reading
        naive = "" if name == source else naive_port(source, src_args, reading, name).note
        if isinstance(target, semantics.NotExpressible):
            rows.append(Row(name, False, "", "", list(g.out_size), [list(c) for c in g.crops], target.reason, naive))
            continue
        args = dict(target.given) if name != source else dict(src_args)
        rows.append(Row(name, True, adapter.code(g.op, args, target.input_shape(), target.weight_shape(), False),
                        target.weight_conversion(),
                        list(g.out_size), [list(c) for c in g.crops], "", naive))
    return rows


def run(args, extra: list[str]) -> int:
    reading, src = source_reading(args, extra)
    g = reading.geometry
    rows = rows_for(reading, args.source, src)
    if args.json:
        print(json.dumps({"source": args.source, "args": src, "geometry": g.describe(),
                          "full_size": list(g.full_size), "rows": [asdict(r) for r in rows]}, indent=1))
        return 0
    print(f"{args.source} {g.op}: {', '.join(f'{k}={v!r}' for k, v in src.items()) or '(defaults)'}")
    print(f"canonical: {g.describe()}; full length {list(g.full_size)} -> output {list(g.out_size)}")
    for r in rows:
        print(f"\n{r.framework}")
        if r.expressible:
            print(f"  call:   {r.call}")
            print(f"  weight: {r.weight_conversion}")
        else:
            print(f"  not expressible: {r.reason}")
        print(f"  output {'x'.join(map(str, r.output_size))}, crop per axis {[tuple(c) for c in r.crops]}")
        if r.naive_port:
            print(f"  trap:   {r.naive_port}")
    return 0
