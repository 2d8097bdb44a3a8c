"""The system contract: what convtx needs from every system it runs a case through.

A *system* is one way of computing a transposed (or forward) convolution: a framework's layer or
op, a runtime, a converter's output, or the NumPy reference.  It is a subclass of `System`
declaring a few class attributes and implementing four methods; everything else has a default.

Declared (class attributes):
- `id`: the registry id (`torch`, `keras-jax`, ...); `dialect`: whose argument names, meaning and
  layouts its calls take (a key of `convtx.harness.semantics.DIALECTS`, or `CANONICAL` for a system
  that takes the canonical problem itself); `install_hint`: what to pip install when it is missing;
- `requires`: the importable modules it needs (`available()` checks them without importing);
- `env`: environment variables its worker process starts with (KERAS_BACKEND, JAX_ENABLE_X64...);
- `refusals`: regular expressions of the framework's own words for "this build/device has no
  kernel for this call": an error matching one is the verdict `unsupported`, not `error`;
- `known_bugs_file`: the system's own known-bug file (the format of `adapters/known_bugs/*.yaml`),
  a path relative to the folder of the module defining the class; None (the default) means
  `known_bugs/<id>.yaml` in that folder, if there is one (the built-ins' `adapters/known_bugs/`).
  A third-party system ships its file as package data beside its module; `knownbugs.load` reads it;
- `variants`: named ways of running the same system, selected as `id[name,...]` (`tf[onednn=0]`,
  `torch[channels_last]`, `torch[cuda]`): each a `Variant` with environment variables for its
  worker, a device, and options `call` reads (`self.options`); `load` makes a subclass per combination
  whose `id` is the full id, so a variant is a column like any system;
- `capabilities`: optional abilities, declared, never probed: `"gradient"` (`input_gradient`
  is implemented: the gradient check uses it), `"fallback"` (`fallback` can say calls the dialect's
  own arguments cannot), `"in_process"` (safe to run in convtx's own process: no worker).

Implemented (run inside the system's worker process; importing the framework only there):
- `version()`, `environment(device)`: what ran, recorded with every verdict;
- `code(op, args, x_shape, w_shape, has_bias)`: the call as code a person could paste;
- `call(op, args, x, w, b, dtype, device)`: run it; tensors and the output in the dialect's layouts.

Optional: `input_gradient(...)` (capability "gradient"); `fallback(geometry)` (capability
"fallback") returning a `Said`; `api_limit(op, geometry, dtype, args)`: what the system's *API*
cannot say (never what one build lacks: that is a refusal, seen when it happens).

Third-party systems register under the entry-point group `convtx.systems` (see `adapters/__init__`).
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Protocol

import numpy as np

CANONICAL = "canonical"  # the dialect of a system that takes the canonical problem as it is
CAPABILITIES = frozenset({"gradient", "fallback", "in_process"})


class Said(Protocol):
    """A call said in a system's terms: what `plan` hands to `System.call`, and how tensors move.

    `semantics.Reading` (a dialect's reading of its own arguments) is one; a system's `fallback`
    returns another (e.g. jax's grouped transposed convolution as `conv_general_dilated`)."""

    @property
    def op(self) -> str: ...

    @property
    def call_args(self) -> Mapping[str, Any]: ...  # the arguments to pass, as written

    @property
    def full_args(self) -> Mapping[str, Any]: ...  # with the dialect's defaults (known bugs read them)

    def from_canonical_input(self, x: np.ndarray) -> np.ndarray: ...

    def from_canonical_weight(self, w: np.ndarray) -> np.ndarray: ...

    def to_canonical_output(self, y: np.ndarray) -> np.ndarray: ...

    def from_canonical_output(self, y: np.ndarray) -> np.ndarray: ...  # (a cotangent, for the gradient check)

    def to_canonical_input(self, x: np.ndarray) -> np.ndarray: ...  # (an input gradient back)

    def weight_conversion(self) -> str: ...


class SaidAsIs:
    """A `Said` in the canonical layouts (torch's, unflipped): tensors pass unconverted."""

    def __init__(self, op: str, args: Mapping[str, Any]):
        self._op, self._args = op, dict(args)

    @property
    def op(self) -> str:
        return self._op

    @property
    def call_args(self) -> Mapping[str, Any]:
        return self._args

    @property
    def full_args(self) -> Mapping[str, Any]:
        return self._args

    def from_canonical_input(self, x: np.ndarray) -> np.ndarray:
        return x

    def from_canonical_weight(self, w: np.ndarray) -> np.ndarray:
        return w

    def to_canonical_output(self, y: np.ndarray) -> np.ndarray:
        return y

    def from_canonical_output(self, y: np.ndarray) -> np.ndarray:
        return y

    def to_canonical_input(self, x: np.ndarray) -> np.ndarray:
        return x

    def weight_conversion(self) -> str:
        return "as is (torch layout)"


@dataclass(frozen=True)
class Variant:
    """One named way of running a system: its worker's environment, a device, options its call reads."""

    doc: str
    env: Mapping[str, str] = field(default_factory=dict)
    device: str | None = None
    options: frozenset[str] = frozenset()


class System(ABC):
    """One system convtx runs calls through. Subclasses declare the class attributes below."""

    id: ClassVar[str]
    dialect: ClassVar[str]
    install_hint: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()
    env: ClassVar[Mapping[str, str]] = {}
    refusals: ClassVar[tuple[str, ...]] = ()
    known_bugs_file: ClassVar[str | None] = None  # relative to the defining module's folder (see above)
    capabilities: ClassVar[frozenset[str]] = frozenset()
    variants: ClassVar[Mapping[str, Variant]] = {}
    options: ClassVar[frozenset[str]] = frozenset()  # of the selected variants (set by `with_variants`)
    device: ClassVar[str | None] = None  # a variant's device (None: the run's --device)
    # Persistent compilation caches the framework offers: variables set in the worker when the run has a
    # cache folder (beside the result store), `{cache}` replaced by it (e.g. "{cache}/jax").
    cache_env: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        unknown = set(cls.capabilities) - CAPABILITIES
        if unknown:
            raise TypeError(f"{cls.__name__}: unknown capabilities {sorted(unknown)} (known: {sorted(CAPABILITIES)})")

    @classmethod
    def with_variants(cls, names: tuple[str, ...]) -> type["System"]:
        """The subclass that runs this system with the named variants (KeyError for an unknown one)."""
        unknown = [n for n in names if n not in cls.variants]
        if unknown:
            known = ", ".join(cls.variants) or "none"
            raise KeyError(f"{cls.id} has no variant {', '.join(unknown)} (its variants: {known})")
        chosen = [cls.variants[n] for n in names]
        env = dict(cls.env)
        for v in chosen:
            env.update(v.env)
        device = next((v.device for v in reversed(chosen) if v.device), cls.device)
        attrs = {"id": f"{cls.id}[{','.join(names)}]", "env": env, "device": device,
                 "options": frozenset().union(*(v.options for v in chosen)), "__module__": cls.__module__}
        return type(f"{cls.__name__}[{','.join(names)}]", (cls,), attrs)

    def unavailable(self, device: str) -> str | None:
        """Why this system cannot run on `device` here (run in the worker: e.g. no CUDA), or None."""
        return None

    def available(self) -> bool:
        """Every required module can be imported (checked without importing it)."""
        return all(module_available(name) for name in self.requires)

    @abstractmethod
    def version(self) -> str: ...

    @abstractmethod
    def environment(self, device: str = "cpu") -> dict[str, Any]: ...

    @abstractmethod
    def code(self, op: str, args: Mapping[str, Any], x_shape: tuple[int, ...], w_shape: tuple[int, ...],
             has_bias: bool) -> str: ...

    @abstractmethod
    def call(self, op: str, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
             dtype: str, device: str = "cpu") -> np.ndarray: ...

    def input_gradient(self, args: Mapping[str, Any], x: np.ndarray, w: np.ndarray, cotangent: np.ndarray,
                       dtype: str, device: str = "cpu") -> np.ndarray:
        """d<conv(x, w), cotangent>/dx by the framework's autodiff (capability "gradient")."""
        raise NotImplementedError(f"{self.id} declares no 'gradient' capability")

    def fallback(self, geometry: Any) -> Said | None:
        """The call said some other way where the dialect's arguments cannot say it (capability "fallback")."""
        return None

    def api_limit(self, op: str, geometry: Any, dtype: str, args: Mapping[str, Any]) -> str | None:
        """Why the system's API cannot say this call at all (a fact of the API, not of one build)."""
        return None


def module_available(name: str) -> bool:
    """True when `name` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def render_call(fn: str, positional: list[str], kwargs: Mapping[str, Any]) -> str:
    """`fn(x, w, stride=2, padding=[1, 0])` - a call a user could paste."""
    parts = list(positional) + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{fn}({', '.join(parts)})"


def given(args: Mapping[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """The arguments worth writing: without None values and without `drop`."""
    return {k: v for k, v in args.items() if v is not None and k not in drop}
