"""httpcore's AsyncSOCKSProxy: a AsyncConnectionPool whose connections go through SOCKS.

Rules: `handle_async_request` is inherited from AsyncConnectionPool, as in httpcore. Needs the
`socks` extra (socksio), checked at construction. Constructor and attributes:
`../_pools.py`.
"""

from __future__ import annotations

from .._pools import SOCKSProxyFacade
from .connection_pool import AsyncConnectionPool

__all__ = ["AsyncSOCKSProxy"]


class AsyncSOCKSProxy(SOCKSProxyFacade, AsyncConnectionPool):
    """A pool opening every connection through one SOCKS proxy (httpduo's)."""
