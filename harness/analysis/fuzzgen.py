"""Random configurations for `convtx fuzz`, spelled in each framework's own arguments.

A `Config` is a small record of integers (sizes, channels, strides, ...) plus a dialect and a
few dialect-specific padding parameters; `spell(config)` turns it into that dialect's arguments
(its `Dialect.fuzz_args`) and tensor shapes, and `to_entry` into a case the runner can run.
Drawing crops through the dialects' own spellings covers exactly what each framework can say;
every dialect that declares itself `fuzzable` is drawn (`drawn_dialects`).  Everything is an integer so that
the shrinker can make a failing configuration smaller one step at a time.

A campaign (a seed) is an endless sequence of configurations, and configuration i is a pure function
of (seed, i), so `convtx fuzz --range a:b` runs a slice of it anywhere: configurations come in families
of `family_size()` slots (one per drawn dialect), family f's meaning drawn from `default_rng([seed, 0, f])`;
slot k of it says that meaning in its k-th dialect (`family`), or, where that dialect cannot say it,
is a configuration of that dialect's own drawn from `default_rng([seed, 1, i])`.  Case ids are
`fuzz-{seed}-{i}`.
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

FAMILY_STREAM, OWN_STREAM = 0, 1  # the two kinds of random streams of a campaign: families, own draws
MAX_ATTEMPTS = 10_000  # draws before a stream is declared unable to give a valid configuration
MAX_OUTPUT = 200_000  # elements: larger outputs are redrawn (the run stays fast)


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


def draw(rng: np.random.Generator, seed: int, dialect: str | None = None) -> Config:
    """One random configuration (not yet checked for validity), in `dialect` or a random one."""
    ndim = int(rng.choice([1, 2, 3], p=[0.4, 0.5, 0.1]))
    dialect = dialect or str(rng.choice(drawn_dialects()))
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


def said(c: Config):
    """(arguments, input shape, weight shape, reading) of a valid configuration, or None if invalid
    (rejected by its dialect, not expressible in `respell`, or too large)."""
    try:
        args, x_shape, w_shape = spell(c)
        cout = c.groups * c.cout_g
        reading = semantics.read(c.dialect, c.op, args, x_shape, w_shape, c.bias, (cout,) if c.bias else None)
        if c.respell:
            respelled = _respelled(c, reading)
            if respelled is None:
                return None
            args, x_shape, w_shape, reading = respelled
    except (ArgError, InvalidArguments, ValueError, ZeroDivisionError):
        return None
    if int(np.prod(reading.geometry.output_shape)) > MAX_OUTPUT:
        return None
    return args, x_shape, w_shape, reading


def to_entry(c: Config, index: int, campaign: int | None = None) -> Entry | None:
    """The configuration as a runnable case (expected output from the reference), or None if invalid;
    its id is `fuzz-{campaign}-{index}` (`fuzz-{c.seed}-{index}` outside a campaign)."""
    from convtx.harness.core import reference
    from convtx.harness.engine.verdict import problem_of

    spelled = said(c)
    if spelled is None:
        return None
    args, x_shape, w_shape, reading = spelled
    cout = c.groups * c.cout_g
    bias = TensorSpec((cout,), "random", scalar=c.seed + 2) if c.bias else None
    case = Case(id=f"fuzz-{c.seed if campaign is None else campaign}-{index}", framework=c.respell or c.dialect,
                op=c.op, args=args, input=TensorSpec(x_shape, "random", scalar=c.seed),
                weight=TensorSpec(w_shape, "random", scalar=c.seed + 1), expected=Expected("pending"), bias=bias,
                dtype=c.dtype, tolerance=tolerance(reading.geometry, c.dtype), path="<fuzz>")
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


def family_size() -> int:
    """Slots per family: one per drawn dialect (the base's own, then each other one's)."""
    return len(drawn_dialects())


def _data_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 64))


def _first_valid(rng: np.random.Generator, dialect: str | None, what: str) -> Config:
    """The stream's first valid draw (in `dialect`, or any); a stream that never gives one is a bug."""
    for _ in range(MAX_ATTEMPTS):
        config = draw(rng, _data_seed(rng), dialect)
        if said(config) is not None:
            return config
    raise RuntimeError(f"fuzz: no valid configuration in {MAX_ATTEMPTS} draws of {what}")


def base(seed: int, f: int) -> Config:
    """The meaning of family f of the campaign `seed`, in the dialect it was drawn in."""
    return _first_valid(np.random.default_rng([seed, FAMILY_STREAM, f]), None, f"family {f} of seed {seed}")


def slot(family_base: Config, seed: int, i: int) -> tuple[Config, Entry]:
    """Configuration i of the campaign, given its family's base: the base said in the slot's dialect,
    or, where that dialect cannot say it, a configuration of that dialect's own."""
    config = family(family_base)[i % family_size()]
    entry = to_entry(config, i, seed)
    if entry is None:
        rng = np.random.default_rng([seed, OWN_STREAM, i])
        config = _first_valid(rng, config.respell or config.dialect, f"configuration {i} of seed {seed}")
        entry = to_entry(config, i, seed)
    if entry is None:  # said() accepted it: to_entry cannot refuse it
        raise RuntimeError(f"fuzz: configuration {i} of seed {seed} is not a valid call")
    return config, entry


def configuration(seed: int, i: int) -> tuple[Config, Entry]:
    """Configuration i of the campaign `seed` (a pure function of the two)."""
    return slot(base(seed, i // family_size()), seed, i)


def generate_range(seed: int, start: int, stop: int) -> list[tuple[Config, Entry]]:
    """Configurations start..stop-1 of the campaign `seed` (each family's base drawn once)."""
    if not 0 <= start <= stop:
        raise ValueError(f"not a range of configurations: {start}:{stop}")
    bases: dict[int, Config] = {}
    out: list[tuple[Config, Entry]] = []
    for i in range(start, stop):
        f = i // family_size()
        if f not in bases:
            bases[f] = base(seed, f)
        out.append(slot(bases[f], seed, i))
    return out


def generate(n: int, seed: int) -> list[tuple[Config, Entry]]:
    """The campaign's first n configurations (in families sharing a meaning), reproducible from the seed."""
    return generate_range(seed, 0, n)
