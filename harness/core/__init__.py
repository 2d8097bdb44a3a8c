"""The canonical model every other part speaks: the Problem/Geometry (crop model), the NumPy reference that
computes it, dtypes and tensor rounding, and convtx's error types.  Imports no framework and no adapter.
"""
