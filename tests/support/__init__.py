"""Helpers shared by the tests (on the pytest pythonpath as `support`)."""
