"""httpcore's `AnyIOBackend`: httpduo's anyio backend behind httpcore's interface.

Rules: as `AutoBackend`, but always httpduo's anyio backend (asyncio or trio alike),
loaded on first use so that importing this module imports no anyio.
"""

from __future__ import annotations

from typing import Any

from .auto import AutoBackend

__all__ = ["AnyIOBackend"]


class AnyIOBackend(AutoBackend):
    """anyio sockets (httpduo's anyio backend), under asyncio or trio."""

    def _choose(self) -> Any:
        from httpduo._backends.anyio import AnyIOBackend as _DuoAnyIOBackend

        return _DuoAnyIOBackend()
