"""The command line: `convtx run/validate/list/explain/report` (cli) and the commands new, import,
bench; each command's parser and output live here, the work it does in the other packages.
"""
