"""`python -m convtx.harness` is the `convtx` command."""

import sys

from convtx.harness.commands.cli import main

sys.exit(main())
