"""The harness: case files, canonical semantics, the runner and the command line."""
