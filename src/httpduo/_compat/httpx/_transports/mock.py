"""`httpx._transports.mock`: a transport that answers with a handler function."""

from __future__ import annotations

from httpduo import MockTransport

__all__ = ["MockTransport"]
