"""httpcore's sync `ConnectionPool`, sending through httpduo's real sync pool.

Rules: `handle_request` is the patch point (respx's default mocker replaces it on this
class); unpatched, it converts the httpcore request, sends it on `_httpduo_pool` and
converts the answer, mapping httpduo's exceptions to httpcore's. See `../_pools.py` for
the constructor and attributes.
"""

from __future__ import annotations

from typing import Any

from httpduo._models._requests import Request as DuoRequest
from httpduo._sync._pool import ConnectionPool as DuoConnectionPool
from httpduo._sync._proxies import ProxyPool as DuoProxyPool

from .._convert import CoreSyncStream, to_core_response, to_httpduo_request
from .._exceptions import mapped_to_core
from .._models import Request, Response
from .._pools import PoolFacade, in_flight_until_closed
from .interfaces import ClosesOnExit, RequestInterface

__all__ = ["ConnectionPool", "send"]


def send(pool: Any, request: Request) -> Response:
    """Send an httpcore request on an httpduo sync pool.

    An httpduo request (from transport code that looked the pool up as `_pool`, say a
    `handle_request` saved before the facade was switched on) goes straight to the pool.
    """
    if isinstance(request, DuoRequest):
        return pool.handle_request(request)
    duo_request = to_httpduo_request(request)
    with mapped_to_core():
        response = pool.handle_request(duo_request)
    return to_core_response(response, CoreSyncStream)


class ConnectionPool(PoolFacade, RequestInterface, ClosesOnExit):
    """A pool of connections (httpduo's), with httpcore's interface."""

    _httpduo_pool_class = DuoConnectionPool
    _httpduo_proxy_pool_class = DuoProxyPool

    def handle_request(self, request: Request) -> Response:
        requests = self._requests
        requests.append(request)
        try:
            response = send(self._httpduo_pool, request)
        except BaseException:
            requests.remove(request)
            raise
        in_flight_until_closed(requests, request, response)
        return response

    def close(self) -> None:
        self._httpduo_pool.close()
