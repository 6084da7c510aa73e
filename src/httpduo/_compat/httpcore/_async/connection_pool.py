"""httpcore's `AsyncConnectionPool`, sending through httpduo's real async pool.

Rules: `handle_async_request` is the patch point (respx's default mocker replaces it on
this class); unpatched, it converts the httpcore request, sends it on `_httpduo_pool` and
converts the answer, mapping httpduo's exceptions to httpcore's. See `../_pools.py` for
the constructor and attributes.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Optional

from httpduo._async._pool import AsyncConnectionPool as DuoConnectionPool
from httpduo._async._proxies import AsyncProxyPool as DuoProxyPool

from .._convert import CoreAsyncStream, to_core_response, to_httpduo_request
from .._exceptions import mapped_to_core
from .._models import Request, Response
from .._pools import PoolFacade
from .interfaces import AsyncRequestInterface

__all__ = ["AsyncConnectionPool", "send"]


async def send(pool: Any, request: Request) -> Response:
    """Send an httpcore request on an httpduo async pool."""
    duo_request = to_httpduo_request(request)
    with mapped_to_core():
        response = await pool.handle_async_request(duo_request)
    return to_core_response(response, CoreAsyncStream)


class AsyncConnectionPool(PoolFacade, AsyncRequestInterface):
    """A pool of connections (httpduo's), with httpcore's interface (async)."""

    _httpduo_pool_class = DuoConnectionPool
    _httpduo_proxy_pool_class = DuoProxyPool

    async def handle_async_request(self, request: Request) -> Response:
        return await send(self._httpduo_pool, request)

    async def aclose(self) -> None:
        await self._httpduo_pool.aclose()

    async def __aenter__(self) -> AsyncConnectionPool:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]] = None,
        exc_value: Optional[BaseException] = None,
        traceback: Optional[TracebackType] = None,
    ) -> None:
        await self.aclose()
