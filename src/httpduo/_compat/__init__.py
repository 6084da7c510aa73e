"""Compatibility names for code written against httpx and httpcore (DESIGN.md rule 14).

Nothing here is imported by `import httpduo`: these modules load only when asked for
(`httpduo.install_as_httpx()` or a direct import), and the real code never depends on them.
"""
