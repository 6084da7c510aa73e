"""`httpx._status_codes`: the `codes` enum."""

from __future__ import annotations

from httpduo._models._status_codes import codes

__all__ = ["codes"]
