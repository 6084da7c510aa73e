"""`httpx._transports.wsgi`: calling a WSGI application in process."""

from __future__ import annotations

from httpduo import WSGITransport

__all__ = ["WSGITransport"]
