"""Random configurations for `convtx fuzz`, spelled in each framework's own arguments.

A `Config` is a small record of integers (sizes, channels, strides, ...) plus a dialect and a
few dialect-specific padding parameters; `spell(config)` turns it into that dialect's arguments
(its `Dialect.fuzz_args`) and tensor shapes, and `to_entry` into a case the runner can run.
Drawing crops through the dialects' own spellings covers exactly what each framework can say;
every dialect that declares itself `fuzzable` is drawn (`drawn_dialects`).  Everything is an integer so that
the shrinker can make a failing configuration smaller one step at a time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from convtx.harness import semantics
from convtx.harness.caseformat.case import Case, Expected, Tolerance
from convtx.harness.caseformat.casefile import Entry
from convtx.harness.core.errors import InvalidArguments
from convtx.harness.semantics.common import ArgError, FuzzDraw, canonical_weight_roles, channels_first
from convtx.harness.core.tensors import TensorSpec, machine_eps



def drawn_dialects() -> tuple[str, ...]:
    """The dialects the fuzzer spells calls in, in registry order (registered ones included)."""
    return tuple(name for name, dialect in semantics.DIALECTS.items() if dialect.fuzzable)


@dataclass(frozen=True)
class Config(FuzzDraw):
    """A draw (its integers: `FuzzDraw`) and what the run needs besides: whose spelling, bias, dtype, seed."""

    dialect: str
    bias: bool
    dtype: str
    seed: int
    respell: str = ""  # "" = the dialect's own spelling above; else re-said in this dialect via express()


def draw(rng: np.random.Generator, seed: int) -> Config:
    """One random configuration (not yet checked for validity)."""
    ndim = int(rng.choice([1, 2, 3], p=[0.4, 0.5, 0.1]))
    dialect = str(rng.choice(drawn_dialects()))
    op = "conv" if rng.random() < 0.12 else "conv_transpose"
    groups = int(rng.choice([1, 1, 1, 2, 3])) if semantics.DIALECTS[dialect].fuzz_groups else 1
    top = 6 if ndim < 3 else 4
    size = tuple(int(v) for v in rng.integers(1, top, ndim))
    kernel = tuple(int(v) for v in rng.integers(1, 5 if ndim < 3 else 3, ndim))
    stride = tuple(int(v) for v in rng.integers(1, 4, ndim))
    dilation = tuple(int(v) for v in rng.choice([1, 1, 1, 2], ndim))
    return Config(dialect=dialect, op=op, batch=int(rng.integers(1, 3)), groups=groups, cin_g=int(rng.integers(1, 3)),
                  cout_g=int(rng.integers(1, 3)), size=size, kernel=kernel, stride=stride, dilation=dilation,
                  mode=int(rng.integers(0, 4)), pads=tuple(int(v) for v in rng.integers(0, 4, 2 * ndim)),
                  flags=int(rng.integers(0, 4)), bias=bool(rng.random() < 0.3),
                  dtype=str(rng.choice(["float32", "float64"])), seed=seed)


def spell(c: Config) -> tuple[dict, tuple[int, ...], tuple[int, ...]]:
    """The dialect's arguments, input shape and weight shape for a configuration."""
    dialect = semantics.DIALECTS[c.dialect]
    args = dialect.fuzz_args(c)
    layout = dialect.layout(c.op, dialect.check_args(c.op, args), c.ndim)
    cin, cout = c.groups * c.cin_g, c.groups * c.cout_g
    canon_x = (c.batch, cin, *c.size)
    first = (cin, c.cout_g) if c.op == "conv_transpose" else (cout, c.cin_g)
    canon_w = (*first, *c.kernel)
    x_shape = tuple(canon_x[channels_first(c.ndim).index(r)] for r in layout.input)
    roles = canonical_weight_roles(c.op, c.ndim)
    w_shape = tuple(canon_w[roles.index(r)] for r in layout.weight)
    return args, x_shape, w_shape


def tolerance(g, dtype: str) -> Tolerance:
    """Scaled to the number of terms summed per output element (values are in [-1, 1))."""
    terms = g.in_channels // g.groups * int(np.prod(g.kernel)) + 1
    eps = machine_eps(dtype)
    return Tolerance(rtol=16 * eps * np.sqrt(terms), atol=16 * eps * terms)


def _respelled(c: Config, reading):
    """The same call said in another dialect (its first candidate arguments), or None."""
    other = semantics.express(c.respell, reading.geometry)
    if isinstance(other, semantics.NotExpressible):
        return None
    return dict(other.given), other.input_shape(), other.weight_shape(), other


def to_entry(c: Config, index: int) -> Entry | None:
    """The configuration as a runnable case (expected output from the reference), or None if invalid."""
    from convtx.harness.core import reference
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
    expected = reading.from_canonical_output(reference.compute(problem_of(entry)))
    spec = TensorSpec(expected.shape, "values", np.ascontiguousarray(expected))
    return Entry(dataclasses.replace(case, expected=Expected("tensor", tensor=spec)), reading)


def family(base: Config) -> list[Config]:
    """The base configuration and the same call said in each other dialect, each with its own data.

    One meaning spelled every way checks every dialect's reading against its real framework, and
    the translated calls repeat shapes, so jax compiles once per family instead of once per call."""
    others = [d for d in drawn_dialects() if d != base.dialect]
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
