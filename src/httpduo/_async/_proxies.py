"""Connections through a proxy, and the pool that keeps them.

Rules:
- One `AsyncProxyPool` serves one proxy. What it pools depends on the route:
  `http://` URLs through an HTTP(S) proxy are forwarded — sent in absolute form on
  connections to the proxy itself, which every such URL shares; `https://` URLs are
  tunnelled (CONNECT, then TLS to the origin inside the tunnel) and SOCKS proxies
  tunnel every URL, on connections kept per origin. Limits, keep-alive, timeouts and the
  pool's other rules apply unchanged.
- An `https://` proxy is spoken to over TLS (`Proxy.ssl_context`, or a verifying
  default); a tunnel through it runs TLS inside that TLS.
- Inside a tunnel, ALPN may pick HTTP/2, exactly as on a direct connection. Forwarded
  requests always use HTTP/1.1.
- Errors, mapped here: the proxy unreachable → `ConnectError`/`ConnectTimeout` naming
  the proxy; a CONNECT answered with anything but 2xx, a reply that is not HTTP, or a
  SOCKS refusal → `ProxyError` with the proxy's status and reason (407 says whether
  credentials were missing or rejected); a timeout while the tunnel is being set up →
  `ConnectTimeout`. After the tunnel is up, errors are the origin connection's own.
- Proxy headers (`Proxy-Authorization` from the proxy URL's userinfo or `auth`, plus
  `Proxy.headers`) go to the proxy only: on CONNECT, or on each forwarded request. A
  forwarded request that sets a header of the same name keeps its own.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterable
from typing import Final, Optional, Union

from httpduo._backends.base import AsyncNetworkBackend, AsyncNetworkStream
from httpduo._codecs.base import HTTP11Codec
from httpduo._codecs.connect import ConnectReply, ConnectReplyReader, connect_request
from httpduo._codecs.select import CodecFactory
from httpduo._models._config import Proxy
from httpduo._models._exceptions import (
    ConnectError,
    ConnectTimeout,
    ProxyError,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)
from httpduo._models._requests import Request
from httpduo._models._status_codes import codes
from httpduo._models._urls import URL

from ._connection import AsyncHTTPConnection, Origin, SocketOption
from ._http2 import AsyncHTTP2Connection
from ._http11 import AsyncHTTP11Connection
from ._pool import AsyncConnectionPool
from ._socks import SOCKS_SCHEMES, open_socks_tunnel
from ._trace import trace_step

__all__ = [
    "AsyncForwardConnection",
    "AsyncProxyPool",
    "AsyncSocksConnection",
    "AsyncTunnelConnection",
]

logger = logging.getLogger("httpduo.proxy")

PROXY_DEFAULT_PORTS: Final = {
    "http": 80,
    "https": 443,
    "socks5": 1080,
    "socks5h": 1080,
    "socks4": 1080,
    "socks4a": 1080,
}
READ_SIZE: Final = 4096


def _proxy_address(proxy: Proxy) -> tuple[str, int]:
    url = proxy.url
    return url.raw_host.decode("ascii"), url.port or PROXY_DEFAULT_PORTS[url.scheme]


def _authority(origin: Origin) -> bytes:
    _, host, port = origin
    if b":" in host:
        host = b"[" + host + b"]"
    return b"%s:%d" % (host, port)


def _remaining(backend: AsyncNetworkBackend, deadline: Optional[float]) -> Optional[float]:
    return None if deadline is None else max(deadline - backend.time(), 0.0)


async def _open_proxy_stream(
    connection: AsyncHTTPConnection,
    proxy: Proxy,
    proxy_ssl_context: ssl.SSLContext,
    request: Request,
) -> AsyncNetworkStream:
    """Connect to the proxy itself (TLS included for an https:// proxy)."""
    host, port = _proxy_address(proxy)
    try:
        stream = await connection._open_stream(host, port, request)
    except ConnectTimeout as exc:
        raise ConnectTimeout(f"Timed out connecting to the proxy {proxy.url}: {exc}") from exc
    except ConnectError as exc:
        raise ConnectError(f"Could not connect to the proxy {proxy.url}: {exc}") from exc
    if proxy.url.scheme == "https":
        try:
            stream = await connection._start_tls(stream, proxy_ssl_context, host, request)
        except ConnectTimeout as exc:
            raise ConnectTimeout(f"Timed out in TLS with the proxy {proxy.url}: {exc}") from exc
        except ConnectError as exc:
            raise ConnectError(f"TLS with the proxy {proxy.url} failed: {exc}") from exc
    return stream


def _origin_text(origin: Origin) -> str:
    scheme, _, _ = origin
    return f"{scheme.decode('ascii')}://{_authority(origin).decode('ascii')}"


# ---------------------------------------------------------------------------------------
# Forwarding: http:// URLs sent to the proxy in absolute form
# ---------------------------------------------------------------------------------------


class AsyncForwardHTTP11Connection(AsyncHTTP11Connection):
    """HTTP/1.1 to a proxy: absolute-form request targets, plus the proxy's headers."""

    def __init__(
        self,
        stream: AsyncNetworkStream,
        backend: AsyncNetworkBackend,
        *,
        proxy_headers: list[tuple[bytes, bytes]],
        keepalive_expiry: Optional[float] = None,
        codec: Optional[HTTP11Codec] = None,
    ) -> None:
        super().__init__(stream, backend, keepalive_expiry=keepalive_expiry, codec=codec)
        # (name for the lookup, header entry as in `Headers._list`) pairs.
        self._proxy_headers = [
            (name.decode("latin-1"), (name, name.lower(), value)) for name, value in proxy_headers
        ]

    def _encode_request_head(self, request: Request) -> bytes:
        url = request.url
        target = url.raw_scheme + b"://" + url.netloc + url.raw_path
        headers = request.headers._list
        if self._proxy_headers:
            own = request.headers
            headers = headers + [entry for name, entry in self._proxy_headers if name not in own]
        return self._codec.encode_request_head(request.method.encode("ascii"), target, headers)


class AsyncForwardConnection(AsyncHTTPConnection):
    """A connection to an HTTP(S) proxy that forwards the http:// requests it carries."""

    def __init__(
        self,
        origin: Origin,
        backend: AsyncNetworkBackend,
        *,
        proxy: Proxy,
        proxy_ssl_context: ssl.SSLContext,
        keepalive_expiry: Optional[float] = None,
        retries: int = 0,
        local_address: Optional[str] = None,
        uds: Optional[str] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
        codec_factory: Optional[CodecFactory] = None,
    ) -> None:
        super().__init__(
            origin,
            backend,
            keepalive_expiry=keepalive_expiry,
            retries=retries,
            local_address=local_address,
            uds=uds,
            socket_options=socket_options,
            codec_factory=codec_factory,
        )
        self._proxy = proxy
        self._proxy_ssl_context = proxy_ssl_context
        self._proxy_headers = list(proxy.request_headers.raw)

    @property
    def may_multiplex(self) -> bool:
        return False

    async def _connect(self, request: Request) -> AsyncNetworkStream:
        return await _open_proxy_stream(self, self._proxy, self._proxy_ssl_context, request)

    async def _open_protocol(
        self, stream: AsyncNetworkStream, request: Request
    ) -> Union[AsyncHTTP11Connection, AsyncHTTP2Connection]:
        return AsyncForwardHTTP11Connection(
            stream,
            self._backend,
            proxy_headers=self._proxy_headers,
            keepalive_expiry=self._keepalive_expiry,
            codec=self._new_codec(),
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [via {str(self._proxy.url)!r}, {self.info()}]>"


# ---------------------------------------------------------------------------------------
# Tunnels: CONNECT through an HTTP(S) proxy, or a SOCKS handshake
# ---------------------------------------------------------------------------------------


class AsyncTunnelConnection(AsyncHTTPConnection):
    """A connection to one origin through a CONNECT tunnel opened by an HTTP(S) proxy."""

    def __init__(
        self,
        origin: Origin,
        backend: AsyncNetworkBackend,
        *,
        proxy: Proxy,
        proxy_ssl_context: ssl.SSLContext,
        ssl_context: Optional[ssl.SSLContext] = None,
        keepalive_expiry: Optional[float] = None,
        http1: bool = True,
        http2: bool = False,
        retries: int = 0,
        local_address: Optional[str] = None,
        uds: Optional[str] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
        codec_factory: Optional[CodecFactory] = None,
    ) -> None:
        super().__init__(
            origin,
            backend,
            ssl_context=ssl_context,
            keepalive_expiry=keepalive_expiry,
            http1=http1,
            http2=http2,
            retries=retries,
            local_address=local_address,
            uds=uds,
            socket_options=socket_options,
            codec_factory=codec_factory,
        )
        self._proxy = proxy
        self._proxy_ssl_context = proxy_ssl_context

    async def _connect(self, request: Request) -> AsyncNetworkStream:
        stream = await _open_proxy_stream(self, self._proxy, self._proxy_ssl_context, request)
        try:
            await self._open_tunnel(stream, request)
        except BaseException:
            await stream.aclose()
            raise
        return await self._start_origin_tls(stream, request)

    async def _open_tunnel(self, stream: AsyncNetworkStream, request: Request) -> None:
        timeouts = request.extensions.get("timeout") or {}
        timeout = timeouts.get("connect")
        authority = _authority(self.origin)
        info = {"proxy": str(self._proxy.url), "authority": authority.decode("ascii")}
        async with trace_step("proxy.connect_tunnel", logger, request, info) as trace:
            deadline = None if timeout is None else self._backend.time() + timeout
            data = connect_request(authority, self._proxy.request_headers.raw)
            reader = ConnectReplyReader()
            reply: Optional[ConnectReply] = None
            try:
                await stream.write(data, _remaining(self._backend, deadline))
                while reply is None:
                    chunk = await stream.read(READ_SIZE, _remaining(self._backend, deadline))
                    reply = reader.feed(chunk)
            except (ReadTimeout, WriteTimeout) as exc:
                raise ConnectTimeout(
                    f"Timed out waiting for the proxy {self._proxy.url} to open a tunnel to "
                    f"{authority.decode('ascii')}"
                ) from exc
            except (ReadError, WriteError) as exc:
                raise ProxyError(
                    f"The connection to the proxy {self._proxy.url} broke during CONNECT: {exc}"
                ) from exc
            trace.return_value = (reply.status_code, reply.reason)
            if not 200 <= reply.status_code < 300:
                raise ProxyError(self._refusal(reply, authority.decode("ascii")))
            if reader.trailing_data:
                raise ProxyError(
                    f"The proxy {self._proxy.url} sent data through the tunnel before the "
                    "client did"
                )

    def _refusal(self, reply: ConnectReply, authority: str) -> str:
        reason = reply.reason or codes.get_reason_phrase(reply.status_code)
        status = f"{reply.status_code} {reason}".rstrip()
        proxy = self._proxy
        if reply.status_code != 407:
            return f"The proxy {proxy.url} refused to open a tunnel to {authority}: {status}"
        challenge = reply.get(b"proxy-authenticate")
        challenge_text = "" if challenge is None else f" (Proxy-Authenticate: {challenge})"
        if proxy.auth is None and "proxy-authorization" not in proxy.headers:
            return (
                f"The proxy {proxy.url} requires authentication: {status}{challenge_text}. "
                "Give the proxy credentials: Proxy(url, auth=(username, password)) or "
                "http://username:password@host:port"
            )
        user = "" if proxy.auth is None else f" for user {proxy.auth[0]!r}"
        return f"The proxy {proxy.url} rejected the credentials{user}: {status}{challenge_text}"

    async def _start_origin_tls(
        self, stream: AsyncNetworkStream, request: Request
    ) -> AsyncNetworkStream:
        scheme, host, _ = self.origin
        if scheme != b"https":
            return stream
        if self._ssl_context is None:
            await stream.aclose()
            raise RuntimeError("An https connection needs an SSL context")
        sni = request.extensions.get("sni_hostname") or host.decode("ascii")
        return await self._start_tls(stream, self._ssl_context, sni, request)

    def __repr__(self) -> str:
        origin = _origin_text(self.origin)
        via = str(self._proxy.url)
        return f"<{type(self).__name__} [{origin!r} via {via!r}, {self.info()}]>"


class AsyncSocksConnection(AsyncTunnelConnection):
    """A connection to one origin through a SOCKS5/SOCKS4 proxy."""

    async def _open_tunnel(self, stream: AsyncNetworkStream, request: Request) -> None:
        timeouts = request.extensions.get("timeout") or {}
        _, host, port = self.origin
        info = {"proxy": str(self._proxy.url), "host": host.decode("ascii"), "port": port}
        async with trace_step("proxy.socks_handshake", logger, request, info):
            await open_socks_tunnel(
                stream,
                self._backend,
                self._proxy,
                host.decode("ascii"),
                port,
                timeouts.get("connect"),
            )


# ---------------------------------------------------------------------------------------
# The pool
# ---------------------------------------------------------------------------------------


class AsyncProxyPool(AsyncConnectionPool):
    """A connection pool whose every connection goes through one proxy."""

    def __init__(
        self,
        proxy: Proxy,
        ssl_context: Optional[ssl.SSLContext] = None,
        *,
        proxy_ssl_context: ssl.SSLContext,
        max_connections: Optional[int] = 10,
        max_keepalive_connections: Optional[int] = None,
        keepalive_expiry: Optional[float] = None,
        http1: bool = True,
        http2: bool = False,
        retries: int = 0,
        local_address: Optional[str] = None,
        uds: Optional[str] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
        network_backend: Optional[AsyncNetworkBackend] = None,
        codec_factory: Optional[CodecFactory] = None,
    ) -> None:
        super().__init__(
            ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
            http1=http1,
            http2=http2,
            retries=retries,
            local_address=local_address,
            uds=uds,
            socket_options=socket_options,
            network_backend=network_backend,
            codec_factory=codec_factory,
        )
        self._proxy = proxy
        self._proxy_ssl_context = proxy_ssl_context
        self._socks = proxy.url.scheme in SOCKS_SCHEMES
        # Every forwarded request shares the connections to the proxy: one pool key for
        # all of them. Its scheme is "http", so it never equals a tunnel's key, which is
        # always an https:// origin (SOCKS proxies forward nothing).
        host, port = _proxy_address(proxy)
        self._forward_key: Origin = (b"http", host.encode("ascii"), port)

    @property
    def proxy(self) -> Proxy:
        """The proxy every connection of this pool goes through."""
        return self._proxy

    def _route(self, url: URL) -> Origin:
        origin = super()._route(url)
        if origin[0] == b"http" and not self._socks:
            return self._forward_key
        return origin

    def _create_connection(
        self, origin: Origin, backend: AsyncNetworkBackend
    ) -> AsyncHTTPConnection:
        if not self._socks and origin == self._forward_key:
            return AsyncForwardConnection(
                origin,
                backend,
                proxy=self._proxy,
                proxy_ssl_context=self._proxy_ssl_context,
                keepalive_expiry=self._keepalive_expiry,
                retries=self._retries,
                local_address=self._local_address,
                uds=self._uds,
                socket_options=self._socket_options,
                codec_factory=self._codec_factory,
            )
        kind = AsyncSocksConnection if self._socks else AsyncTunnelConnection
        return kind(
            origin,
            backend,
            proxy=self._proxy,
            proxy_ssl_context=self._proxy_ssl_context,
            ssl_context=self._ssl_context,
            keepalive_expiry=self._keepalive_expiry,
            http1=self._http1,
            http2=self._http2,
            retries=self._retries,
            local_address=self._local_address,
            uds=self._uds,
            socket_options=self._socket_options,
            codec_factory=self._codec_factory,
        )

    def __repr__(self) -> str:
        return super().__repr__().replace("[", f"[Proxy: {str(self._proxy.url)!r}, ", 1)
