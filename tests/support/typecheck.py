"""Type-check harness/ and adapters/ as the `convtx` package they are installed as (mypy, `make test`).

The repository maps `convtx.harness` -> harness/, `convtx.adapters` -> adapters/ (pyproject's
package-dir), which mypy cannot follow through an editable install; this builds the package tree
of symbolic links under .mypy_cache/tree and runs mypy on it.  Exit status: mypy's.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def package_tree() -> str:
    tree = os.path.join(ROOT, ".mypy_cache", "tree")
    pkg = os.path.join(tree, "convtx")
    os.makedirs(pkg, exist_ok=True)
    for name, target in (("__init__.py", "convtx/__init__.py"), ("api.py", "convtx/api.py"),
                         ("pytest_plugin.py", "convtx/pytest_plugin.py"), ("harness", "harness"),
                         ("adapters", "adapters"), ("reports", "reports")):
        link = os.path.join(pkg, name)
        if not os.path.islink(link):
            os.symlink(os.path.join(ROOT, target), link)
    return tree


def main() -> int:
    from mypy import api
    tree = package_tree()
    out, err, status = api.run(["--config-file", os.path.join(ROOT, "pyproject.toml"),
                                os.path.join(tree, "convtx", "harness"), os.path.join(tree, "convtx", "adapters"),
                                os.path.join(tree, "convtx", "api.py"), os.path.join(tree, "convtx", "pytest_plugin.py")])
    sys.stdout.write(out)
    sys.stderr.write(err)
    return status


if __name__ == "__main__":
    sys.exit(main())
