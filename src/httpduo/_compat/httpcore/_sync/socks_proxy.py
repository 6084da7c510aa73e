"""httpcore's SOCKSProxy: a ConnectionPool whose connections go through SOCKS.

Rules: `handle_request` is inherited from ConnectionPool, as in httpcore. Needs the
`socks` extra (socksio), checked at construction. Constructor and attributes:
`../_pools.py`.
"""

from __future__ import annotations

from .._pools import SOCKSProxyFacade
from .connection_pool import ConnectionPool

__all__ = ["SOCKSProxy"]


class SOCKSProxy(SOCKSProxyFacade, ConnectionPool):
    """A pool opening every connection through one SOCKS proxy (httpduo's)."""
