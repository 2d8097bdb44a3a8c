"""`convtx translate`: one call, written in one framework's terms, said in every framework's.

`convtx translate --from torch --kernel 3 --stride 2 --padding 1 --output-padding 1 --input-size 3`
prints, per framework, code that runs as printed: `x`, `w` (and `b`) NumPy arrays in the --from
framework's layouts in, the framework's layer or op with its weights set, `y` in the same layouts
out (where no native arguments say the call, the closest native call plus the exact slice / zero-pad).
Next to each: the native arguments, the output, the crop per axis, the known bugs and refusals the
call can hit (with a way around them), and what the usual porting mistakes give instead.  Any
`--name value` besides the fixed options is a source-framework argument (`--output-padding` is
`output_padding`; values are YAML: `--padding same`, `--padding '[[1, 0]]'`, `--strides '[2, 2]'`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import yaml

from convtx.adapters import load, speaker
from convtx.harness import semantics
from convtx.harness.analysis import snippets
from convtx.harness.commands.options import add_known_bugs_option
from convtx.harness.core.errors import UsageError
from convtx.harness.semantics.naive import traps
from convtx.harness.semantics.common import canonical_weight_roles, channels_first


@dataclass
class Row:
    """One framework's way of saying the call (`framework`'s own row runs the source's arguments)."""

    framework: str
    expressible: bool  # the framework's own arguments say exactly this call
    call: str  # the native call alone (expressible rows), as the framework's system writes it
    weight_conversion: str  # from the source layout's `w`
    output_size: list[int]
    crops: list[list[int]]
    reason: str = ""  # why no native arguments say it
    naive_port: str = ""  # the first trap's note
    native_args: dict[str, Any] | None = None  # the arguments of the call the snippet makes
    code: str = ""  # runs as printed: x, w (b) in the source layouts -> y in the source layout
    exact: bool = False  # the snippet is the native call alone (no NumPy steps)
    steps: str = ""  # what the snippet does besides the native call
    output_shape: list[int] = field(default_factory=list)  # y's shape (the source layout)
    hazards: list[dict[str, str]] = field(default_factory=list)  # known bugs / refusals: kind, system, reason, link
    alternative: str = ""  # code avoiding the hazards
    alternative_args: dict[str, Any] | None = None
    traps: list[dict[str, Any]] = field(default_factory=list)  # mistake, args, same_meaning, note

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["crop"] = data["crops"]
        data["naive_port"] = data.pop("traps")
        return data


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
    p.add_argument("--bias", action="store_true", help="the call adds a bias b of shape (C_out,)")
    p.add_argument("--json", action="store_true")
    add_known_bugs_option(p)


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
    c_w = ((args.in_channels, args.out_channels) if args.op == "conv_transpose"
           else (args.out_channels, args.in_channels))
    roles_w = canonical_weight_roles(args.op, n)
    x_shape = tuple(canon_x[channels_first(n).index(r)] for r in layout.input)
    w_shape = tuple((*c_w, *kernel)[roles_w.index(r)] for r in layout.weight)
    bias = bool(getattr(args, "bias", False))
    b_shape = (args.out_channels,) if bias else None
    return semantics.read(args.source, args.op, src, x_shape, w_shape, bias, b_shape), src


def rows_for(reading: semantics.Reading, source: str, src_args: dict, known_bugs: tuple[str, ...] = ()) -> list[Row]:
    """Per framework, the call said its way (`known_bugs`: known-bug files of the user's own)."""
    return [_row(reading, source, src_args, name, tuple(known_bugs)) for name in semantics.FRAMEWORKS]


def _row(reading: semantics.Reading, source: str, src_args: dict, name: str, known_bugs: tuple[str, ...]) -> Row:
    g = reading.geometry
    own = name == source
    target = reading if own else semantics.express(name, g)
    found = traps(source, src_args, reading, name) if not own else []
    row = Row(name, not isinstance(target, semantics.NotExpressible), "", "", list(g.out_size),
              [list(c) for c in g.crops], naive_port=found[0].note if found else "",
              output_shape=list(reading.output_shape()),
              traps=[{"mistake": t.mistake, "args": t.args, "same_meaning": t.same_meaning, "note": t.note}
                     for t in found])
    if isinstance(target, semantics.NotExpressible):
        row.reason = target.reason
    else:
        conversion = snippets.weight_conversion(reading, target)
        row.weight_conversion = f"as is ({source} layout)" if conversion == "as is" else conversion
        row.native_args = dict(src_args) if own else dict(target.given)
        row.call = _native_call(name, target, row.native_args)
    said = snippets.snippet(name, reading, own, known_bugs)
    if said is not None:
        row.native_args, row.code, row.exact, row.steps = said.native_args, said.code, said.exact, said.steps
        row.hazards = [{**asdict(h), "text": h.text()} for h in said.hazards]
        row.alternative, row.alternative_args = said.alternative, said.alternative_args
    return row


def _native_call(name: str, target: semantics.Reading, args: dict) -> str:
    try:
        adapter = load(speaker(name) or name)
    except Exception:  # no system speaks the dialect (or it cannot be loaded): the snippet still says it
        return ""
    return adapter.code(target.op, args, target.input_shape(), target.weight_shape(), False)


def payload(reading: semantics.Reading, source: str, src_args: dict,
            known_bugs: tuple[str, ...] = ()) -> dict[str, Any]:
    """What `translate --json` prints."""
    g = reading.geometry
    return {"source": source, "args": src_args, "geometry": g.describe(), "full_size": list(g.full_size),
            "layouts": snippets.layout_note(reading, source), "output_shape": list(reading.output_shape()),
            "rows": [r.to_json() for r in rows_for(reading, source, src_args, known_bugs)]}


def run(args, extra: list[str]) -> int:
    reading, src = source_reading(args, extra)
    if args.json:
        print(json.dumps(payload(reading, args.source, src, tuple(args.known_bugs)), indent=1))
        return 0
    g = reading.geometry
    print(f"# {args.source} {g.op}: {', '.join(f'{k}={v!r}' for k, v in src.items()) or '(defaults)'}")
    print(f"# canonical: {g.describe()}; full length {list(g.full_size)} -> output {list(g.out_size)}")
    print(f"# {snippets.layout_note(reading, args.source)}.")
    print("# Each block runs as printed once x, w (and b) are defined, and leaves y in those layouts.")
    word = "crop" if g.op == "conv_transpose" else "pad"
    for r in rows_for(reading, args.source, src, tuple(args.known_bugs)):
        print("\n" + "\n".join(_text(r, args.source, word)))
    return 0


def _text(r: Row, source: str, word: str) -> list[str]:
    native = ", ".join(f"{k}={v!r}" for k, v in (r.native_args or {}).items())
    own = " (the call as given)" if r.framework == source else ""
    lines = [f"# ── {r.framework}{own}: {native or 'defaults'}",
             f"#    output {tuple(r.output_shape)}, {word} per axis {[tuple(c) for c in r.crops]}"]
    if not r.expressible:
        lines.append(f"#    not expressible: {r.reason}")
    if r.steps:
        lines.append(f"#    the snippet: {r.steps}")
    lines += [f"#    HAZARD {h['text']}" for h in r.hazards]
    if r.code:
        lines.append(r.code)
    elif r.call:
        lines += [f"#    no snippet writer for {r.framework}; the call, x and w in its layouts (weight: "
                  f"{r.weight_conversion}):", f"#    {r.call}"]
    if r.alternative:
        alt = ", ".join(f"{k}={v!r}" for k, v in (r.alternative_args or {}).items())
        lines += [f"# ── {r.framework}, avoiding the hazard: {alt}", r.alternative]
    lines += [f"# trap: {t['note']}" for t in r.traps]
    return lines
