"""Registry of the systems convtx can run a case through: id -> "module:Class" (see `contract`).

Built-in systems are registered here by import path, so that listing them imports nothing; a
third-party package registers its own under the entry-point group `convtx.systems`, e.g. in its
pyproject.toml:

    [project.entry-points."convtx.systems"]
    myfw = "mypackage.convtx_system:MySystem"

and ships its known bugs as `known_bugs/<id>.yaml` beside that module.  `load(id)` imports the
module (which imports no framework: systems import theirs only inside their methods, in a worker).
"""

from __future__ import annotations

import importlib
import re
from functools import lru_cache

from convtx.adapters.contract import CANONICAL, System

BUILTIN: dict[str, str] = {
    "numpy": "convtx.adapters.numpy_ref:ReferenceSystem",
    "torch": "convtx.adapters.torch_adapter:TorchSystem",
    "keras": "convtx.adapters.keras_adapter:KerasSystem",
    "keras-jax": "convtx.adapters.keras_adapter:KerasJaxSystem",
    "keras-torch": "convtx.adapters.keras_adapter:KerasTorchSystem",
    "tf": "convtx.adapters.tf_adapter:TfSystem",
    "jax": "convtx.adapters.jax_adapter:JaxSystem",
    "onnxruntime": "convtx.adapters.onnxruntime_adapter:OnnxRuntimeSystem",
    "onnx-ref": "convtx.adapters.onnx_ref_adapter:OnnxRefSystem",
    "paddle": "convtx.adapters.paddle_adapter:PaddleSystem",
    "tinygrad": "convtx.adapters.tinygrad_adapter:TinygradSystem",
    "flax": "convtx.adapters.flax_adapter:FlaxSystem",
    "litert": "convtx.adapters.litert_adapter:LiteRTKerasSystem",
    "litert-tf": "convtx.adapters.litert_adapter:LiteRTTfSystem",
    "torch-onnx": "convtx.adapters.torch_onnx_adapter:TorchOnnxSystem",
    "torch-onnx-legacy": "convtx.adapters.torch_onnx_adapter:TorchOnnxLegacySystem",
    "openvino": "convtx.adapters.openvino_adapter:OpenVinoSystem",
    "openvino-torch": "convtx.adapters.openvino_adapter:OpenVinoTorchSystem",
    "mlx": "convtx.adapters.mlx_adapter:MlxSystem",
}
ENTRY_POINT_GROUP = "convtx.systems"
REFERENCE = "numpy"
_EXTRA: dict[str, str] = {}  # registered at run time (tests, the Python API)
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")  # of `id@label`: where the system runs (see split_label)


@lru_cache(maxsize=1)
def _installed() -> dict[str, str]:
    from importlib.metadata import entry_points
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTIN}


def systems() -> dict[str, str]:
    """Every known system id -> its "module:Class" path: built-in, installed, then registered."""
    return {**BUILTIN, **_installed(), **_EXTRA}


def register(system_id: str, path: str) -> None:
    """Add a system by its "module:Class" path for this process (and the workers it starts)."""
    _EXTRA[system_id] = path
    load.cache_clear()


def unregister(system_id: str) -> None:
    """Take a system registered with `register` away again."""
    _EXTRA.pop(system_id, None)
    load.cache_clear()


def split_label(system_id: str) -> tuple[str, str | None]:
    """`onnxruntime[cuda]@1.19` -> ("onnxruntime[cuda]", "1.19"); `torch` -> ("torch", None).

    `X[variant,...]@label` is the system X (with its variants) run by another interpreter, the one
    configured for `X@label` (see `convtx.harness.engine.launch`); the label comes last, after the
    variants, as in `convtx merge`'s columns.  KeyError (one line) for a malformed id."""
    head, at, label = system_id.partition("@")
    if not at:
        return system_id, None
    if head and _LABEL.fullmatch(label):
        return head, label
    fix = ""
    if head and "[" in label and label.endswith("]") and not head.endswith("]"):
        name, _, variants = label.partition("[")
        fix = f"; variants come before the label: {head}[{variants}@{name}"
    raise KeyError(f"malformed system id {system_id!r} (expected id[variant,...]@label, a label of letters, "
                   f"digits and . _ + -{fix})")


def split_id(system_id: str) -> tuple[str, tuple[str, ...]]:
    """`tf[onednn=0]` -> ("tf", ("onednn=0",)); `torch` -> ("torch", ()); a label is not part of
    either: `torch[compile]@2.4` -> ("torch", ("compile",)) (KeyError for a malformed id)."""
    head, _ = split_label(system_id)
    base, _, rest = head.partition("[")
    if not rest:
        return head, ()
    if not rest.endswith("]"):
        raise KeyError(f"malformed system id {system_id!r} (expected id[variant,...])")
    return base, tuple(v.strip() for v in rest[:-1].split(",") if v.strip())


def path_of(system_id: str) -> str:
    """The "module:Class[variants]" a worker instantiates for a system id, label or not (KeyError if unknown)."""
    base, variants = split_id(system_id)
    try:
        path = systems()[base]
    except KeyError:
        raise KeyError(f"unknown framework {base!r} (known: {', '.join(systems())})") from None
    return f"{path}[{','.join(variants)}]" if variants else path


@lru_cache(maxsize=None)
def load(system_id: str) -> System:
    """The system instance for an id, variants included (KeyError naming the known ids/variants); a
    labelled id's is the one convtx's own process sees of a system run by another interpreter."""
    system = instantiate(path_of(system_id))
    if split_label(system_id)[1] is None:
        return system
    from convtx.harness.engine.launch import elsewhere  # imports no framework either
    return elsewhere(type(system), system_id)()


def instantiate(path: str) -> System:
    """A system from "module:Class" or "module:Class[variant,...]" (in a worker, too)."""
    module_name, _, attr = path.partition(":")
    attr, _, variants = attr.partition("[")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, System)):
        raise TypeError(f"{path} is not a convtx System subclass (see convtx.adapters.contract)")
    names = tuple(v for v in variants.rstrip("]").split(",") if v)
    return (cls.with_variants(names) if names else cls)()


def speaker(dialect: str) -> str | None:
    """The first registered system that speaks a dialect (renders its calls in `convtx translate`)."""
    for system_id in systems():
        if load(system_id).dialect == dialect:
            return system_id
    return None


__all__ = ["BUILTIN", "CANONICAL", "REFERENCE", "System", "load", "path_of", "register", "speaker", "split_id",
           "split_label", "systems", "unregister"]
