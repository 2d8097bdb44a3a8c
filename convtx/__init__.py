"""convtx: a cross-library conformance harness for transposed convolution.

`convtx.harness` owns the case format, the semantics (framework args -> canonical crop), the
runner and the CLI; `convtx.adapters` the per-system adapters; `convtx.reports` the terminal,
JSON and HTML output; `convtx.api` the Python API, whose functions are also reachable here
(`convtx.load_cases`, `convtx.run`, `convtx.translate`, `convtx.reference`, and `convtx.FunctionSystem`
for plugging in a function of your own), imported on first use; `convtx.pytest_plugin` the pytest
plugin (`pytest --convtx PATHS`).  Importing convtx never imports a deep-learning framework.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = ("load_cases", "run", "translate", "reference", "Translation")
_LAZY = {name: "convtx.api" for name in _API}
_LAZY["FunctionSystem"] = "convtx.adapters.function_system"

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    """`convtx.run` etc.: the API, imported only when first asked for."""
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'convtx' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
