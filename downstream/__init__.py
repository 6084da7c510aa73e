"""Run the test suites of packages built on httpx, on httpx and on httpduo, and compare.

`python -m downstream --help` (or `nox -s downstream`); see downstream/README.md.
"""
