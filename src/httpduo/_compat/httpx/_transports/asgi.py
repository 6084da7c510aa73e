"""`httpx._transports.asgi`: calling an ASGI application in process."""

from __future__ import annotations

from httpduo import ASGITransport

__all__ = ["ASGITransport"]
