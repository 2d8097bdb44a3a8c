"""What convtx finds out beyond one verdict: diagnosis of a difference, explain (the terms of one
output element), the mathematical checks, translation into every dialect, differential fuzzing.
"""
