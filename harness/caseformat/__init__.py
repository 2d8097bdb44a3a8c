"""Case files: positioned YAML loading (yamlsrc), tensor specs (tensorparse), the typed Case, and
validation of a file into entries with their canonical reading (casefile).
"""
