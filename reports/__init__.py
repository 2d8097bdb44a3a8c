"""Reports: the terminal summary, the JSON results file and the self-contained HTML report."""
