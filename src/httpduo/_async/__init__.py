"""Client, transports, connection pool and connections, written once.

This tree is the source: `python -m codegen` generates the twin package from it, so the code
here uses only constructs that translate (DESIGN.md, rule 2; codegen/rules.py).
"""

from __future__ import annotations
