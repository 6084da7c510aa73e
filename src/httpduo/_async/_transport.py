"""`AsyncHTTPTransport`: the default transport, a configured connection pool.

Rules:
- Creating a transport is cheap: the SSL context for its configuration is built once
  per process and shared (`create_ssl_context` caches it); the network backend is
  chosen on the first request.
- Every `RequestError` leaving the transport carries the request it was raised for.
- `proxy=` makes every request of this transport go through that proxy (see
  `_proxies.py` for how each kind is spoken to); a missing optional package (socksio
  for SOCKS, h2 for HTTP/2) fails here, at construction, with the install command.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Optional, Union

from httpduo._backends.base import AsyncNetworkBackend
from httpduo._codecs.select import resolve_codec_factory
from httpduo._models._config import DEFAULT_LIMITS, Limits, Proxy
from httpduo._models._exceptions import RequestError, attach_request
from httpduo._models._requests import Request
from httpduo._models._responses import Response
from httpduo._models._ssl import create_ssl_context
from httpduo._models._types import CertTypes
from httpduo._models._urls import URL

from ._base_transport import AsyncBaseTransport
from ._connection import SocketOption
from ._http2 import load_h2
from ._pool import AsyncConnectionPool
from ._proxies import AsyncProxyPool
from ._socks import SOCKS_SCHEMES, require_socksio

__all__ = ["AsyncHTTPTransport"]


class AsyncHTTPTransport(AsyncBaseTransport):
    """Sends requests over pooled HTTP/1.1 or HTTP/2 connections, directly or via a proxy.

    `proxy=` sends every request through one proxy: a URL string or `httpduo.URL`
    (`http://`, `https://`, `socks5://`, `socks5h://`, `socks4://`, `socks4a://`, with
    optional `user:password@`) or an `httpduo.Proxy` with auth, headers or an SSL context.

    `http1_codec=` (additive, keyword-only) picks the HTTP/1.1 parser: "h11", "llhttp"
    (the `speedups` extra) or "auto" (llhttp when installed; `HTTPDUO_HTTP1_CODEC`
    overrides "auto").

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
        *,
        http1_codec: str = "auto",
    ) -> None:
        if not (http1 or http2):
            raise ValueError("At least one of http1 or http2 must be enabled.")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries!r}")
        if http2:
            load_h2()
        # Resolved once per transport (env var, import): never per request.
        codec_factory = resolve_codec_factory(http1_codec)
        if isinstance(proxy, (str, URL)):
            proxy = Proxy(url=proxy)
        elif proxy is not None and not isinstance(proxy, Proxy):
            raise TypeError(
                f"proxy must be a URL string, an httpduo.URL or an httpduo.Proxy, got {proxy!r}"
            )
        ssl_context = create_ssl_context(
            verify=verify, cert=cert, trust_env=trust_env, http2=http2
        )
        if http2 and ssl_context is verify:
            # A context of the caller's own: as httpx does, offer h2 in it, or asking for
            # HTTP/2 would silently give HTTP/1.1. (Our cached contexts have it already.)
            ssl_context.set_alpn_protocols(["h2", "http/1.1"] if http1 else ["h2"])
        pool_options: dict[str, Any] = {
            "max_connections": limits.max_connections,
            "max_keepalive_connections": limits.max_keepalive_connections,
            "keepalive_expiry": limits.keepalive_expiry,
            "http1": http1,
            "http2": http2,
            "retries": retries,
            "local_address": local_address,
            "uds": uds,
            "socket_options": socket_options,
            "network_backend": network_backend,
            "codec_factory": codec_factory,
        }
        self._pool: AsyncConnectionPool
        if proxy is None:
            self._pool = AsyncConnectionPool(ssl_context, **pool_options)
            return
        if proxy.url.scheme in SOCKS_SCHEMES:
            require_socksio()
        # As httpx: TLS to an https:// proxy is verified with the default settings unless
        # `Proxy(ssl_context=...)` says otherwise (`verify=` is for the origins).
        proxy_ssl_context = proxy.ssl_context or create_ssl_context(trust_env=trust_env)
        self._pool = AsyncProxyPool(
            proxy, ssl_context, proxy_ssl_context=proxy_ssl_context, **pool_options
        )

    @property
    def pool(self) -> AsyncConnectionPool:
        """The connection pool behind this transport."""
        return self._pool

    async def handle_async_request(self, request: Request) -> Response:
        try:
            return await self._pool.handle_async_request(request)
        except RequestError as exc:
            attach_request(exc, request)
            raise

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
