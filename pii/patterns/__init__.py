"""The built-in recognizers, one module per kind of identifier.

Each module exposes `find(text) -> list[Finding]` and validates what it matches (checksums,
ranges, libraries) rather than trusting a regular expression. None imports Django, so the
detector can be used (and benchmarked) outside the project.
"""
