"""convtx: a cross-library conformance harness for transposed convolution.

`convtx.harness` owns the case format, the semantics (framework args -> canonical crop), the
runner and the CLI; `convtx.adapters` the per-system adapters; `convtx.reports` the terminal,
JSON and HTML output.  Importing convtx never imports a deep-learning framework.
"""

__version__ = "0.1.0"
