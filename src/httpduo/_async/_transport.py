"""`AsyncHTTPTransport`: the default transport, a configured connection pool.

Rules:
- Creating a transport is cheap: the SSL context for its configuration is built once
  per process and shared (`create_ssl_context` caches it); the network backend is
  chosen on the first request.
- Every `RequestError` leaving the transport carries the request it was raised for.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from types import TracebackType
from typing import Optional, Union

from httpduo._backends.base import AsyncNetworkBackend
from httpduo._models._config import DEFAULT_LIMITS, Limits, Proxy
from httpduo._models._exceptions import request_context
from httpduo._models._requests import Request
from httpduo._models._responses import Response
from httpduo._models._ssl import create_ssl_context
from httpduo._models._types import CertTypes
from httpduo._models._urls import URL

from ._base_transport import AsyncBaseTransport
from ._connection import SocketOption
from ._pool import AsyncConnectionPool

__all__ = ["AsyncHTTPTransport"]


class AsyncHTTPTransport(AsyncBaseTransport):
    """Sends requests over pooled HTTP/1.1 connections, with or without TLS.

    >>> transport = httpduo.AsyncHTTPTransport(retries=1, limits=httpduo.Limits(max_connections=5))
    >>> client = httpduo.AsyncClient(transport=transport)
    """

    def __init__(
        self,
        verify: Union[ssl.SSLContext, str, bool] = True,
        cert: Optional[CertTypes] = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        proxy: Union[URL, str, Proxy, None] = None,
        uds: Optional[str] = None,
        local_address: Optional[str] = None,
        retries: int = 0,
        socket_options: Optional[Iterable[SocketOption]] = None,
        network_backend: Optional[AsyncNetworkBackend] = None,
    ) -> None:
        if not (http1 or http2):
            raise ValueError("At least one of http1 or http2 must be enabled.")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries!r}")
        if proxy is not None:
            raise NotImplementedError(
                "Proxy support is not available in this version of httpduo yet."
            )
        ssl_context = create_ssl_context(
            verify=verify, cert=cert, trust_env=trust_env, http2=http2
        )
        self._pool = AsyncConnectionPool(
            ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=http1,
            http2=http2,
            retries=retries,
            local_address=local_address,
            uds=uds,
            socket_options=socket_options,
            network_backend=network_backend,
        )

    @property
    def pool(self) -> AsyncConnectionPool:
        """The connection pool behind this transport."""
        return self._pool

    async def handle_async_request(self, request: Request) -> Response:
        with request_context(request):
            return await self._pool.handle_async_request(request)

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def __aenter__(self) -> AsyncHTTPTransport:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]] = None,
        exc_value: Optional[BaseException] = None,
        traceback: Optional[TracebackType] = None,
    ) -> None:
        await self.aclose()
