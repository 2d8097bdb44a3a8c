"""Shared machinery of the framework dialects: argument readers, layouts and the Dialect contract.

A *dialect* reads one framework's argument names, defaults and tensor layouts and turns a case
into canonical axes (see `convtx.harness.core.problem`); it also owns everything else that is
framework-specific about spelling a call (`Dialect`'s hooks: the size formula, the naive-port
reading and writing, the fuzzer's spellings, the flipped-kernel advice), so that the rest of
harness/ speaks only canonical terms.  Layouts are tuples of roles: input/output use
'N', 'C' and spatial indices 0..n-1; weights use 'in', 'out' (which channel count the dimension
holds) and spatial indices.  `ArgError` is a malformed argument (a case-file error);
`InvalidArguments` is a well-formed call its framework rejects.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from convtx.harness.core.errors import ArgError, InvalidArguments
from convtx.harness.core.problem import Axis, Geometry

__all__ = ["ArgError", "InvalidArguments", "Layout", "Dialect", "Shapes", "Spelling", "FuzzDraw", "ints", "one_of",
           "flag", "canonical_weight_roles", "channels_first", "channels_last", "check_positive"]


Role = Any  # 'N' | 'C' | 'in' | 'out' | int


@dataclass(frozen=True)
class Layout:
    """Where each canonical dimension sits in the framework's tensors, and the kernel flip."""

    input: tuple[Role, ...]
    weight: tuple[Role, ...]
    output: tuple[Role, ...]
    flipped: bool = False  # weight spatially flipped relative to torch's

    def describe(self) -> str:
        def fmt(roles):
            names = {"N": "N", "C": "C", "in": "C_in", "out": "C_out"}
            return "(" + ", ".join(names.get(r, f"s{r}") if isinstance(r, str) else f"s{r}"
                                   for r in roles) + ")"
        flip = ", spatially flipped" if self.flipped else ""
        return f"input {fmt(self.input)}, weight {fmt(self.weight)}{flip}, output {fmt(self.output)}"


def channels_first(ndim: int) -> tuple[Role, ...]:
    return ("N", "C", *range(ndim))


def channels_last(ndim: int) -> tuple[Role, ...]:
    return ("N", *range(ndim), "C")


def canonical_weight_roles(op: str, ndim: int) -> tuple[Role, ...]:
    first = ("in", "out") if op == "conv_transpose" else ("out", "in")
    return (*first, *range(ndim))


@dataclass(frozen=True)
class Shapes:
    """Canonical shapes seen by a dialect while it computes the axes."""

    op: str
    input: tuple[int, ...]   # canonical (N, C_in, *spatial)
    weight: tuple[int, ...]  # canonical weight layout

    @property
    def ndim(self) -> int:
        return len(self.input) - 2

    @property
    def in_size(self) -> tuple[int, ...]:
        return self.input[2:]

    @property
    def kernel(self) -> tuple[int, ...]:
        return self.weight[2:]


@dataclass(frozen=True)
class Spelling:
    """A call's padding as a porter sees it: numbers and words, not meaning."""

    pad: tuple  # ("int", [p..]) | ("pairs", [(lo, hi)..]) | ("same",) | ("valid",)
    output_padding: list[int] | None

    @property
    def kind(self) -> str:
        return self.pad[0]

    @property
    def numbers(self) -> list[int]:
        """One padding number per axis as a porter carries it over: the int, or the pair's first (none
        for a word)."""
        if self.kind == "int":
            return list(self.pad[1])
        return [lo for lo, _ in self.pad[1]] if self.kind == "pairs" else []

    @property
    def nonzero_output_padding(self) -> list[int] | None:
        return self.output_padding if self.output_padding and any(self.output_padding) else None


@dataclass(frozen=True)
class FuzzDraw:
    """The integers `convtx fuzz` draws for one call, which a dialect's `fuzz_args` spells (the fuzzer's
    `Config` adds which dialect, the bias, dtype and seed)."""

    op: str
    batch: int
    groups: int
    cin_g: int  # input channels per group
    cout_g: int  # output channels per group
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    mode: int  # which of the dialect's padding spellings (any int >= 0; the dialect takes it modulo)
    pads: tuple[int, ...]  # two non-negative padding numbers per axis: all lows, then all highs
    flags: int  # two dialect-specific bits

    @property
    def ndim(self) -> int:
        return len(self.size)


class Dialect:
    """One framework's way of writing a call. Subclasses fill in the tables and `layout`/`axes`, and
    may implement the hooks below; a hook left alone has a canonical, framework-free default."""

    name: str = ""
    install_hint: str = ""
    ops: Mapping[str, Mapping[str, Any]] = {}  # op -> {arg name: default}
    required: Mapping[str, Sequence[str]] = {}
    flip_advice: str = "the framework used the kernel as a forward convolution would (flip it)"  # diagnose
    flip_note: str = "the framework uses the kernel as a forward convolution does"  # naive port, layout flipped
    fuzzable: bool = False  # the fuzzer draws calls in this dialect (it implements `fuzz_args`)
    fuzz_groups: bool = False  # the fuzzer draws groups > 1 for this dialect's own spellings

    def check_args(self, op: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Reject unknown and missing args; return args with defaults filled in."""
        known = self.ops[op]
        for key in args:
            if key not in known:
                close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
                hint = (f"did you mean {close[0]!r}? " if close else "") + "it has: " + ", ".join(sorted(known))
                raise ArgError(f"args.{key}", f"{self.name} {op} has no argument {key!r} ({hint})")
        for key in self.required.get(op, ()):
            if key not in args:
                raise ArgError(f"args.{key}", f"required by {self.name} {op} but missing")
        return {**known, **args}

    def layout(self, op: str, args: Mapping[str, Any], ndim: int) -> Layout:
        raise NotImplementedError

    def axes(self, shapes: Shapes, args: Mapping[str, Any]) -> tuple[tuple[Axis, ...], int]:
        """Canonical (axes, groups); raise InvalidArguments where the framework would refuse."""
        raise NotImplementedError

    def candidates(self, g: Geometry) -> Iterable[Mapping[str, Any]]:
        """Argument sets that may say the canonical call g, most natural first (`express` keeps the first
        whose reading is exactly g)."""
        raise NotImplementedError

    def why_not(self, g: Geometry) -> str:
        """Why no argument set of this dialect says g (the `not_expressible` note)."""
        raise NotImplementedError

    def size_formula(self, args: Mapping[str, Any], g: Geometry, axis: int) -> str | None:
        """A transposed convolution's output length on one axis as the framework's documentation writes
        it, numbers substituted (`args` with defaults filled in); None: the canonical crop formula."""
        return None

    def spelling(self, args: Mapping[str, Any], ndim: int) -> Spelling | None:
        """The padding words and numbers of a transposed-convolution call written in this dialect, as a
        porter reads them (for the naive-port notes); None: no by-name reading."""
        return None

    def naive_args(self, sp: Spelling, g: Geometry) -> dict[str, Any] | None:
        """The arguments a by-name port of `sp` to this dialect writes (strides, dilations and groups
        carried over correctly, the padding by name); None: no by-name port."""
        return None

    def fuzz_args(self, c: FuzzDraw) -> dict[str, Any]:
        """This dialect's arguments for the fuzzer's integers (for `c.op`); a dialect that does not
        implement it is not drawn (see `fuzzable`)."""
        raise NotImplementedError



def ints(value: Any, n: int, field: str, *, minimum: int | None = None,
         allow_len: Sequence[int] = ()) -> tuple[int, ...]:
    """An int or a list of n ints (or of a length in allow_len) as an n-tuple."""
    if isinstance(value, bool) or value is None:
        raise ArgError(field, f"expected an integer or a list of {n} integers, got {value!r}")
    if isinstance(value, int):
        out = (value,) * n
    elif isinstance(value, (list, tuple)):
        if len(value) not in (n, *allow_len) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in value):
            lens = " or ".join(str(x) for x in (n, *allow_len))
            raise ArgError(field, f"expected an integer or a list of {lens} integers, got {list(value)!r}")
        out = tuple(value)
    else:
        raise ArgError(field, f"expected an integer or a list of {n} integers, got {value!r}")
    if minimum is not None and any(v < minimum for v in out):
        raise ArgError(field, f"every value must be >= {minimum}, got {list(out)!r}")
    return out


def one_of(value: Any, choices: Sequence[str], field: str, *, fold_case: bool = False) -> str:
    if isinstance(value, str):
        probe = value.lower() if fold_case else value
        for choice in choices:
            if probe == (choice.lower() if fold_case else choice):
                return choice
    raise ArgError(field, f"expected one of {', '.join(map(repr, choices))}, got {value!r}")


def flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ArgError(field, f"expected true or false, got {value!r}")
    return value


def check_positive(sizes: Sequence[int], what: str, field: str) -> None:
    if any(o <= 0 for o in sizes):
        raise InvalidArguments(field, f"{what} would be {tuple(sizes)}: no output (every size must be >= 1)")


def check_groups(shapes: Shapes, groups: int, field: str) -> None:
    """The groups argument must be an integer that the channel counts fit (shapes are canonical)."""
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise ArgError(field, f"expected an integer, got {groups!r}")
    c_in = shapes.input[1]
    if groups < 1:
        raise ArgError(field, f"groups must be >= 1, got {groups}")
    if shapes.op == "conv_transpose":
        if shapes.weight[0] != c_in:
            raise ArgError("weight", f"holds {shapes.weight[0]} input channels but the input has {c_in}")
        if c_in % groups:
            raise ArgError(field, f"{c_in} input channels are not divisible by groups={groups}")
    else:
        if shapes.weight[1] * groups != c_in:
            raise ArgError("weight", f"takes {shapes.weight[1]} channels per group x groups={groups}"
                           f" = {shapes.weight[1] * groups}, but the input has {c_in}")
        if shapes.weight[0] % groups:
            raise ArgError(field, f"{shapes.weight[0]} output channels are not divisible by groups={groups}")
