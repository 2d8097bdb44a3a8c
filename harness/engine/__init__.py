"""Running cells: plan (a case said in a system's terms), workers (isolated processes), the verdict
(compare and judge), known bugs, the suite runner and the results file.
"""
