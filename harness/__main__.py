"""`python -m convtx.harness` is the `convtx` command."""

import sys

from .cli import main

sys.exit(main())
