"""Helpers shared by the tests (on the pytest pythonpath as `support`): paths, and below it the
real-framework guard (`frameworks`), the loop reference (`loopref`), a fault-injecting system
(`fault_system`), a toy framework (`toy`) and the type-check runner (`typecheck`)."""

from __future__ import annotations

import os

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/
ROOT = os.path.dirname(TESTS)  # the repository
BAD_CASES = os.path.join(TESTS, "bad_cases")
