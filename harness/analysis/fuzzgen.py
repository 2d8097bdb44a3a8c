"""Random configurations for `convtx fuzz`, spelled in each framework's own arguments.

A `Config` is a small record of integers (sizes, channels, strides, ...) plus a dialect and a
few dialect-specific padding parameters; `spell(config)` turns it into that dialect's arguments
and tensor shapes, and `to_entry` into a case the runner can run.  Drawing crops through the
dialects' own spellings (torch padding/output_padding, Keras 'valid'/'same' +- output_padding, jax
SAME/VALID/explicit pairs in both meanings, tf output_shape, onnx pads/auto_pad/output_shape)
covers exactly what each framework can say.  Everything is an integer so that the shrinker can
make a failing configuration smaller one step at a time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from convtx.harness import semantics
from convtx.harness.caseformat.case import Case, Expected, Tolerance
from convtx.harness.caseformat.casefile import Entry
from convtx.harness.core.errors import InvalidArguments
from convtx.harness.core.problem import dilated_extent, full_length, Axis
from convtx.harness.semantics.common import ArgError, canonical_weight_roles, channels_first
from convtx.harness.core.tensors import TensorSpec, machine_eps

DIALECTS = ("torch", "keras", "tf", "jax", "onnx")
GROUPED = ("torch", "onnx")


@dataclass(frozen=True)
class Config:
    dialect: str
    op: str
    batch: int
    groups: int
    cin_g: int  # input channels per group
    cout_g: int  # output channels per group
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    mode: int  # dialect-specific padding mode (see spell)
    pads: tuple[int, ...]  # dialect-specific non-negative padding numbers, 2 per axis
    flags: int  # dialect-specific flags (bit 0, bit 1)
    bias: bool
    dtype: str
    seed: int
    respell: str = ""  # "" = the dialect's own spelling above; else re-said in this dialect via express()

    @property
    def ndim(self) -> int:
        return len(self.size)


def draw(rng: np.random.Generator, seed: int) -> Config:
    """One random configuration (not yet checked for validity)."""
    ndim = int(rng.choice([1, 2, 3], p=[0.4, 0.5, 0.1]))
    dialect = str(rng.choice(DIALECTS))
    op = "conv" if rng.random() < 0.12 else "conv_transpose"
    groups = int(rng.choice([1, 1, 1, 2, 3])) if dialect in GROUPED else 1
    top = 6 if ndim < 3 else 4
    size = tuple(int(v) for v in rng.integers(1, top, ndim))
    kernel = tuple(int(v) for v in rng.integers(1, 5 if ndim < 3 else 3, ndim))
    stride = tuple(int(v) for v in rng.integers(1, 4, ndim))
    dilation = tuple(int(v) for v in rng.choice([1, 1, 1, 2], ndim))
    return Config(dialect, op, int(rng.integers(1, 3)), groups, int(rng.integers(1, 3)), int(rng.integers(1, 3)),
                  size, kernel, stride, dilation, int(rng.integers(0, 4)),
                  tuple(int(v) for v in rng.integers(0, 4, 2 * ndim)), int(rng.integers(0, 4)),
                  bool(rng.random() < 0.3), str(rng.choice(["float32", "float64"])), seed)


def _transpose_args(c: Config) -> dict:
    n = c.ndim
    s, d = list(c.stride), list(c.dilation)
    lo, hi = list(c.pads[:n]), list(c.pads[n:])
    K = [dilated_extent(k, dd) for k, dd in zip(c.kernel, d)]
    L = [full_length(i, k, Axis(ss, dd, 0, 0)) for i, k, ss, dd in zip(c.size, c.kernel, s, d)]
    if c.dialect == "torch":
        return {"stride": s, "padding": lo, "output_padding": [h % max(ss, dd) for h, ss, dd in zip(hi, s, d)],
                "dilation": d, "groups": c.groups}
    if c.dialect == "keras":
        mode = "same" if c.mode % 2 else "valid"
        args = {"strides": s, "padding": mode, "dilation_rate": d}
        if c.flags & 1:
            args["output_padding"] = [h % ss for h, ss in zip(hi, s)]
        return args
    if c.dialect == "tf":
        mode = c.mode % 3
        if mode == 2:
            out = [Li - a - b + 0 for Li, a, b in zip(L, lo, hi)]
            out = [max(o, 1) for o in out]
            return {"output_shape": [c.batch, *out, c.cout_g], "strides": s, "dilations": d,
                    "padding": [[0, 0]] + [[a, b] for a, b in zip(lo, hi)] + [[0, 0]]}
        lows = [Li if mode == 0 else (i - 1) * ss + 1 for Li, i, ss in zip(L, c.size, s)]
        out = [base + h % ss for base, h, ss in zip(lows, hi, s)]
        return {"output_shape": [c.batch, *out, c.cout_g], "strides": s, "dilations": d,
                "padding": "VALID" if mode == 0 else "SAME"}
    if c.dialect == "jax":
        mode = c.mode % 3
        args = {"strides": s, "rhs_dilation": d, "transpose_kernel": bool(c.flags & 2)}
        if mode < 2:
            args["padding"] = "SAME" if mode == 0 else "VALID"
            return args
        consistent = bool(c.flags & 1)
        pairs = [[a, b] for a, b in zip(lo, hi)] if consistent else [[k - 1 - a, k - 1 - b] for k, a, b in zip(K, lo, hi)]
        return {**args, "padding": pairs, "use_consistent_padding": consistent}
    mode = c.mode % 4  # onnx: 0 pads, 1 SAME_UPPER, 2 SAME_LOWER, 3 output_shape
    args = {"strides": s, "dilations": d, "group": c.groups}
    op = [h % ss for h, ss in zip(hi, s)] if c.flags & 1 else [0] * n
    if any(op):
        args["output_padding"] = op
    if mode == 0:
        return {**args, "pads": lo + hi}
    if mode == 3:
        return {**args, "output_shape": [max(Li - a - b, 1) for Li, a, b in zip(L, lo, hi)]}
    return {**args, "auto_pad": "SAME_UPPER" if mode == 1 else "SAME_LOWER"}


def _conv_args(c: Config) -> dict:
    n = c.ndim
    s, d = list(c.stride), list(c.dilation)
    lo, hi = list(c.pads[:n]), list(c.pads[n:])
    mode = c.mode % 2
    if c.dialect == "torch":
        return {"stride": s, "dilation": d, "groups": c.groups, "padding": lo}
    if c.dialect == "keras":
        return {"strides": s, "dilation_rate": d, "padding": "same" if mode else "valid"}
    if c.dialect == "tf":
        return {"strides": s, "dilations": d,
                "padding": "SAME" if mode else [[0, 0]] + [[a, b] for a, b in zip(lo, hi)] + [[0, 0]]}
    if c.dialect == "jax":
        return {"window_strides": s, "rhs_dilation": d, "padding": "SAME" if mode else [[a, b] for a, b in zip(lo, hi)]}
    return {"strides": s, "dilations": d, "group": c.groups, "pads": lo + hi}


def spell(c: Config) -> tuple[dict, tuple[int, ...], tuple[int, ...]]:
    """The dialect's arguments, input shape and weight shape for a configuration."""
    args = _transpose_args(c) if c.op == "conv_transpose" else _conv_args(c)
    dialect = semantics.DIALECTS[c.dialect]
    layout = dialect.layout(c.op, dialect.check_args(c.op, args), c.ndim)
    cin, cout = c.groups * c.cin_g, c.groups * c.cout_g
    canon_x = (c.batch, cin, *c.size)
    first = (cin, c.cout_g) if c.op == "conv_transpose" else (cout, c.cin_g)
    canon_w = (*first, *c.kernel)
    x_shape = tuple(canon_x[channels_first(c.ndim).index(r)] for r in layout.input)
    roles = canonical_weight_roles(c.op, c.ndim)
    w_shape = tuple(canon_w[roles.index(r)] for r in layout.weight)
    if c.dialect == "tf" and c.op == "conv_transpose":
        args["output_shape"] = [c.batch, *args["output_shape"][1:-1], cout]
    return args, x_shape, w_shape


def tolerance(g, dtype: str) -> Tolerance:
    """Scaled to the number of terms summed per output element (values are in [-1, 1))."""
    terms = g.in_channels // g.groups * int(np.prod(g.kernel)) + 1
    eps = machine_eps(dtype)
    return Tolerance(rtol=16 * eps * np.sqrt(terms), atol=16 * eps * terms)


def _respelled(c: Config, reading):
    """The same call said in another dialect (its first candidate arguments), or None."""
    other = semantics.express(c.respell, reading.geometry)
    if isinstance(other, semantics.NotExpressibleHere):
        return None
    return dict(other.given), other.input_shape(), other.weight_shape(), other


def to_entry(c: Config, index: int) -> Entry | None:
    """The configuration as a runnable case (expected output from the reference), or None if invalid."""
    from convtx.adapters import numpy_ref
    from convtx.harness.engine.verdict import problem_of

    try:
        args, x_shape, w_shape = spell(c)
        cout = c.groups * c.cout_g
        reading = semantics.read(c.dialect, c.op, args, x_shape, w_shape, c.bias, (cout,) if c.bias else None)
        if c.respell:
            said = _respelled(c, reading)
            if said is None:
                return None
            args, x_shape, w_shape, reading = said
    except (ArgError, InvalidArguments, ValueError, ZeroDivisionError):
        return None
    if int(np.prod(reading.geometry.output_shape)) > 200_000:
        return None
    bias = TensorSpec((cout,), "random", scalar=c.seed + 2) if c.bias else None
    case = Case(id=f"fuzz-{c.seed}-{index}", framework=c.respell or c.dialect, op=c.op, args=args,
                input=TensorSpec(x_shape, "random", scalar=c.seed), weight=TensorSpec(w_shape, "random", scalar=c.seed + 1),
                expected=Expected("pending"), bias=bias, dtype=c.dtype, tolerance=tolerance(reading.geometry, c.dtype),
                path="<fuzz>")
    entry = Entry(case, reading)
    expected = reading.from_canonical_output(numpy_ref.compute(problem_of(entry)))
    spec = TensorSpec(expected.shape, "values", np.ascontiguousarray(expected))
    return Entry(dataclasses.replace(case, expected=Expected("tensor", tensor=spec)), reading)


def family(base: Config) -> list[Config]:
    """The base configuration and the same call said in each other dialect, each with its own data.

    One meaning spelled five ways checks every dialect's reading against its real framework, and
    the translated calls repeat shapes, so jax compiles once per family instead of once per call."""
    others = [d for d in DIALECTS if d != base.dialect]
    return [base] + [dataclasses.replace(base, respell=d, seed=base.seed + 7 * (k + 1)) for k, d in enumerate(others)]


def generate(n: int, seed: int) -> list[tuple[Config, Entry]]:
    """n valid configurations (in families sharing a meaning), reproducible from the seed."""
    rng = np.random.default_rng(seed)
    out: list[tuple[Config, Entry]] = []
    attempts = 0
    while len(out) < n and attempts < 50 * n:
        attempts += 1
        base = draw(rng, int(rng.integers(0, 2**31 - 64)))
        if to_entry(base, len(out)) is None:
            continue
        for config in family(base):
            entry = to_entry(config, len(out)) if len(out) < n else None
            if entry is not None:
                out.append((config, entry))
    return out
