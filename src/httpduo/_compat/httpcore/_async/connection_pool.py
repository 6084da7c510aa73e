"""httpcore's `AsyncConnectionPool`, sending through httpduo's real async pool.

Rules: `handle_async_request` is the patch point (respx's default mocker replaces it on
this class); unpatched, it converts the httpcore request, sends it on `_httpduo_pool` and
converts the answer, mapping httpduo's exceptions to httpcore's. See `../_pools.py` for
the constructor and attributes.
"""

from __future__ import annotations

from typing import Any

from httpduo._async._pool import AsyncConnectionPool as DuoConnectionPool
from httpduo._async._proxies import AsyncProxyPool as DuoProxyPool
from httpduo._models._requests import Request as DuoRequest

from .._convert import CoreAsyncStream, to_core_response, to_httpduo_request
from .._exceptions import mapped_to_core
from .._models import Request, Response
from .._pools import PoolFacade, in_flight_until_closed
from .interfaces import AsyncClosesOnExit, AsyncRequestInterface

__all__ = ["AsyncConnectionPool", "send"]


async def send(pool: Any, request: Request) -> Response:
    """Send an httpcore request on an httpduo async pool.

    An httpduo request (from transport code that looked the pool up as `_pool`, say a
    `handle_async_request` saved before the facade was switched on) goes straight to the
    pool.
    """
    if isinstance(request, DuoRequest):
        return await pool.handle_async_request(request)
    duo_request = to_httpduo_request(request)
    with mapped_to_core():
        response = await pool.handle_async_request(duo_request)
    return to_core_response(response, CoreAsyncStream)


class AsyncConnectionPool(PoolFacade, AsyncRequestInterface, AsyncClosesOnExit):
    """A pool of connections (httpduo's), with httpcore's interface (async)."""

    _httpduo_pool_class = DuoConnectionPool
    _httpduo_proxy_pool_class = DuoProxyPool

    async def handle_async_request(self, request: Request) -> Response:
        requests = self._requests
        requests.append(request)
        try:
            response = await send(self._httpduo_pool, request)
        except BaseException:
            requests.remove(request)
            raise
        in_flight_until_closed(requests, request, response)
        return response

    async def aclose(self) -> None:
        await self._httpduo_pool.aclose()
