"""httpcore's AsyncHTTPConnection: requests to one origin over one connection at a time.

Rules: built on a one-connection httpduo pool (`../_pools.py`, ConnectionFacade); a
request for another origin is a RuntimeError, as in httpcore. `handle_async_request` is a patch
point of respx's default mocker.
"""

from __future__ import annotations

from .._models import Request, Response
from .._pools import ConnectionFacade
from .connection_pool import AsyncConnectionPool, send
from .interfaces import AsyncClosesOnExit, AsyncConnectionInterface

__all__ = ["AsyncHTTPConnection"]


class AsyncHTTPConnection(ConnectionFacade, AsyncConnectionInterface, AsyncClosesOnExit):
    """A connection to one origin (httpduo's), with httpcore's interface."""

    _httpduo_pool_class = AsyncConnectionPool._httpduo_pool_class
    _httpduo_proxy_pool_class = AsyncConnectionPool._httpduo_proxy_pool_class

    async def handle_async_request(self, request: Request) -> Response:
        self._check_origin(request.url)
        return await send(self._httpduo_pool, request)

    async def aclose(self) -> None:
        await self._httpduo_pool.aclose()
