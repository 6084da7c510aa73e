"""httpcore's HTTPConnection: requests to one origin over one connection at a time.

Rules: built on a one-connection httpduo pool (`../_pools.py`, ConnectionFacade); a
request for another origin is a RuntimeError, as in httpcore. `handle_request` is a patch
point of respx's default mocker.
"""

from __future__ import annotations

from .._models import Request, Response
from .._pools import ConnectionFacade
from .connection_pool import ConnectionPool, send
from .interfaces import ClosesOnExit, ConnectionInterface

__all__ = ["HTTPConnection"]


class HTTPConnection(ConnectionFacade, ConnectionInterface, ClosesOnExit):
    """A connection to one origin (httpduo's), with httpcore's interface."""

    _httpduo_pool_class = ConnectionPool._httpduo_pool_class
    _httpduo_proxy_pool_class = ConnectionPool._httpduo_proxy_pool_class

    def handle_request(self, request: Request) -> Response:
        self._check_origin(request.url)
        return send(self._httpduo_pool, request)

    def close(self) -> None:
        self._httpduo_pool.close()
