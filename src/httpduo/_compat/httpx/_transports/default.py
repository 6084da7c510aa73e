"""`httpx._transports.default`: the pooled network transports.

OpenTelemetry wraps `HTTPTransport.handle_request` by this path; the class is httpduo's
own, so the wrapper sees every request of every client.
"""

from __future__ import annotations

from httpduo import AsyncHTTPTransport, HTTPTransport

__all__ = ["AsyncHTTPTransport", "HTTPTransport"]
