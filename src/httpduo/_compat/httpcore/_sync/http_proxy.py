"""httpcore's HTTPProxy: a pool whose requests go through an HTTP(S) proxy.

Rules: the request method is inherited from ConnectionPool, as in httpcore, so
patching either class intercepts proxied requests. Constructor and attributes:
`../_pools.py`.
"""

from __future__ import annotations

from .._pools import HTTPProxyFacade
from .connection_pool import ConnectionPool

__all__ = ["HTTPProxy"]


class HTTPProxy(HTTPProxyFacade, ConnectionPool):
    """A pool sending every request through one HTTP or HTTPS proxy (httpduo's)."""
