"""`httpx._transports`: the transport classes."""

from __future__ import annotations

from httpduo import (
    ASGITransport,
    AsyncBaseTransport,
    AsyncHTTPTransport,
    BaseTransport,
    HTTPTransport,
    MockTransport,
    WSGITransport,
)

__all__ = [
    "ASGITransport",
    "AsyncBaseTransport",
    "AsyncHTTPTransport",
    "BaseTransport",
    "HTTPTransport",
    "MockTransport",
    "WSGITransport",
]
