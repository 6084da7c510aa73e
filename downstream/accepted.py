"""Tests that pass on httpx and may fail on httpduo, one by one, each with its reason.

Rules: an entry names one test (its pytest node id, exactly as the run reports it) of one
project, and says why the difference is accepted: what the test checks that httpduo does
differently on purpose. Never a file, a class or a pattern. An entry whose test passes on
httpduo, or no longer passes on httpx, is reported as stale so the list only shrinks.
"""

from __future__ import annotations

# (project, node id) -> reason
ACCEPTED: dict[tuple[str, str], str] = {}
