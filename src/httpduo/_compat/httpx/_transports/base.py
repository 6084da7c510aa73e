"""`httpx._transports.base`: the transport interfaces."""

from __future__ import annotations

from httpduo import AsyncBaseTransport, BaseTransport

__all__ = ["AsyncBaseTransport", "BaseTransport"]
