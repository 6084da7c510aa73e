"""httpcore's sync `ConnectionPool`, sending through httpduo's real sync pool.

Rules: `handle_request` is the patch point (respx's default mocker replaces it on this
class); unpatched, it converts the httpcore request, sends it on `_httpduo_pool` and
converts the answer, mapping httpduo's exceptions to httpcore's. See `../_pools.py` for
the constructor and attributes.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Optional

from httpduo._sync._pool import ConnectionPool as DuoConnectionPool
from httpduo._sync._proxies import ProxyPool as DuoProxyPool

from .._convert import CoreSyncStream, to_core_response, to_httpduo_request
from .._exceptions import mapped_to_core
from .._models import Request, Response
from .._pools import PoolFacade
from .interfaces import RequestInterface

__all__ = ["ConnectionPool", "send"]


def send(pool: Any, request: Request) -> Response:
    """Send an httpcore request on an httpduo sync pool."""
    duo_request = to_httpduo_request(request)
    with mapped_to_core():
        response = pool.handle_request(duo_request)
    return to_core_response(response, CoreSyncStream)


class ConnectionPool(PoolFacade, RequestInterface):
    """A pool of connections (httpduo's), with httpcore's interface."""

    _httpduo_pool_class = DuoConnectionPool
    _httpduo_proxy_pool_class = DuoProxyPool

    def handle_request(self, request: Request) -> Response:
        return send(self._httpduo_pool, request)

    def close(self) -> None:
        self._httpduo_pool.close()

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]] = None,
        exc_value: Optional[BaseException] = None,
        traceback: Optional[TracebackType] = None,
    ) -> None:
        self.close()
