"""A connection to one origin: connects on first use, then delegates to a protocol.

Rules:
- Connecting (TCP or Unix socket, then TLS with SNI and ALPN) happens on the first
  request, outside any pool lock; failed connects are retried `retries` times with
  exponential backoff (0.5 s, 1 s, 2 s, ... capped at 8 s), connect errors only.
- ALPN picks the protocol: "h2" → HTTP/2 (when enabled), anything else → HTTP/1.1.
  `http1=False, http2=True` on plain TCP means HTTP/2 with prior knowledge. For HTTP/2,
  connecting includes the connection preface and the server's SETTINGS, so the stream
  capacity the pool sees is the server's from the start.
- The pool calls `connect()` itself, to learn the protocol before the first response;
  used alone, the connection connects on its first request.
- A connection whose connect failed or was cancelled, or that was closed while
  connecting, is closed and never reused.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterable
from typing import Any, Final, Optional, Union

from httpduo._backends.base import AsyncNetworkBackend, AsyncNetworkStream
from httpduo._codecs.base import HTTP11Codec
from httpduo._codecs.select import CodecFactory
from httpduo._models._exceptions import ConnectError, ConnectTimeout
from httpduo._models._requests import Request
from httpduo._models._responses import Response

from ._http2 import AsyncHTTP2Connection, ConnectionNotAvailable
from ._http11 import AsyncHTTP11Connection
from ._trace import trace_step

__all__ = ["AsyncHTTPConnection", "ConnectionNotAvailable", "Origin"]

logger = logging.getLogger("httpduo.connection")

# (scheme, host, port) with the port always explicit: the pool's index key.
Origin = tuple[bytes, bytes, int]

SocketOption = Union[tuple[int, int, int], tuple[int, int, Union[bytes, bytearray]]]

MAX_BACKOFF: Final = 8.0


class AsyncHTTPConnection:
    """A lazily connected connection to one origin."""

    def __init__(
        self,
        origin: Origin,
        backend: AsyncNetworkBackend,
        *,
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
        self.origin = origin
        self._codec_factory = codec_factory
        self._backend = backend
        self._ssl_context = ssl_context
        self._keepalive_expiry = keepalive_expiry
        self._http1 = http1
        self._http2 = http2
        self._retries = retries
        self._local_address = local_address
        self._uds = uds
        self._socket_options = socket_options
        self._connection: Optional[Union[AsyncHTTP11Connection, AsyncHTTP2Connection]] = None
        self._connect_failed = False
        # Connected with HTTP/2: it carries many requests at once. (An attribute: the
        # pool asks on every request.)
        self.is_multiplexed = False

    @property
    def protocol(self) -> Optional[Union[AsyncHTTP11Connection, AsyncHTTP2Connection]]:
        """The connection speaking the negotiated protocol; None until connected."""
        return self._connection

    @property
    def may_multiplex(self) -> bool:
        """Whether connecting may end in HTTP/2 (ALPN over TLS, or prior knowledge)."""
        return self._http2 and (self.origin[0] == b"https" or not self._http1)

    async def connect(self, request: Request) -> None:
        """Connect, negotiate the protocol and set it up; `request` gives timeouts/trace."""
        if self._connection is not None:
            return
        if self._connect_failed:
            raise RuntimeError("This connection failed to connect and cannot be reused")
        try:
            stream = await self._connect(request)
            connection = await self._open_protocol(stream, request)
        except BaseException:
            self._connect_failed = True
            raise
        if self._connect_failed:
            # Closed (by the pool) while connecting: do not bring it back to life.
            await connection.aclose()
            raise ConnectionNotAvailable("the connection was closed while connecting")
        self._connection = connection
        self.is_multiplexed = isinstance(connection, AsyncHTTP2Connection)

    async def handle_async_request(self, request: Request) -> Response:
        if self._connection is None:
            await self.connect(request)
            assert self._connection is not None
        return await self._connection.handle_async_request(request)

    async def _open_protocol(
        self, stream: AsyncNetworkStream, request: Request
    ) -> Union[AsyncHTTP11Connection, AsyncHTTP2Connection]:
        ssl_object = stream.get_extra_info("ssl_object")
        alpn = None if ssl_object is None else ssl_object.selected_alpn_protocol()
        if alpn == "h2" or (self._http2 and not self._http1 and ssl_object is None):
            timeouts = request.extensions.get("timeout") or {}
            try:
                connection = AsyncHTTP2Connection(
                    stream, self._backend, keepalive_expiry=self._keepalive_expiry
                )
                async with trace_step("http2.send_connection_init", logger, request):
                    await connection.start(timeouts.get("connect"))
            except BaseException:
                await stream.aclose()
                raise
            return connection
        return AsyncHTTP11Connection(
            stream, self._backend, keepalive_expiry=self._keepalive_expiry, codec=self._new_codec()
        )

    def _new_codec(self) -> Optional[HTTP11Codec]:
        """The HTTP/1.1 codec for a new connection (None: the connection's default)."""
        return None if self._codec_factory is None else self._codec_factory()

    async def _connect(self, request: Request) -> AsyncNetworkStream:
        """The stream to speak HTTP on: TCP (or the Unix socket), then TLS for https."""
        scheme, host, port = self.origin
        stream = await self._open_stream(host.decode("ascii"), port, request)
        if scheme == b"https":
            if self._ssl_context is None:
                await stream.aclose()
                raise RuntimeError("An https connection needs an SSL context")
            sni = request.extensions.get("sni_hostname") or host.decode("ascii")
            stream = await self._start_tls(stream, self._ssl_context, sni, request)
        return stream

    async def _open_stream(self, host: str, port: int, request: Request) -> AsyncNetworkStream:
        """Connect to host:port (to the Unix socket instead, if one is configured), with
        the connect retries; subclasses use it to reach a proxy."""
        timeouts = request.extensions.get("timeout") or {}
        timeout = timeouts.get("connect")
        if ":" in host and "%25" in host:
            # An IPv6 zone ID is "%25eth0" in a URL (RFC 6874) and "%eth0" to the resolver.
            host = host.replace("%25", "%", 1)
        attempt = 0
        while True:
            try:
                if self._uds is None:
                    info: dict[str, Any] = {
                        "host": host,
                        "port": port,
                        "local_address": self._local_address,
                        "timeout": timeout,
                    }
                    async with trace_step(
                        "connection.connect_tcp", logger, request, info
                    ) as trace:
                        stream = await self._backend.connect_tcp(
                            host,
                            port,
                            timeout=timeout,
                            local_address=self._local_address,
                            socket_options=self._socket_options,
                        )
                        trace.return_value = stream
                else:
                    info = {"path": self._uds, "timeout": timeout}
                    async with trace_step(
                        "connection.connect_unix_socket", logger, request, info
                    ) as trace:
                        stream = await self._backend.connect_unix_socket(
                            self._uds, timeout=timeout, socket_options=self._socket_options
                        )
                        trace.return_value = stream
                return stream
            except (ConnectError, ConnectTimeout):
                if attempt >= self._retries:
                    raise
                delay = 0.0 if attempt == 0 else min(0.5 * 2 ** (attempt - 1), MAX_BACKOFF)
                attempt += 1
                async with trace_step("connection.retry", logger, request, {"delay": delay}):
                    await self._backend.sleep(delay)

    async def _start_tls(
        self,
        stream: AsyncNetworkStream,
        ssl_context: ssl.SSLContext,
        server_hostname: str,
        request: Request,
    ) -> AsyncNetworkStream:
        """TLS over `stream` (closed if the handshake fails); subclasses use it for a proxy
        and inside tunnels."""
        timeouts = request.extensions.get("timeout") or {}
        timeout = timeouts.get("connect")
        info = {"ssl_context": ssl_context, "server_hostname": server_hostname, "timeout": timeout}
        try:
            async with trace_step("connection.start_tls", logger, request, info) as trace:
                stream = await stream.start_tls(
                    ssl_context, server_hostname=server_hostname, timeout=timeout
                )
                trace.return_value = stream
        except BaseException:
            await stream.aclose()
            raise
        return stream

    # ---- what the pool asks --------------------------------------------------------

    @property
    def request_count(self) -> int:
        return 0 if self._connection is None else self._connection.request_count

    @property
    def response_started(self) -> bool:
        connection = self._connection
        return isinstance(connection, AsyncHTTP11Connection) and connection.response_started

    def _multiplexed(self) -> AsyncHTTP2Connection:
        connection = self._connection
        if not isinstance(connection, AsyncHTTP2Connection):
            raise RuntimeError(f"{self!r} does not carry concurrent requests")
        return connection

    def stream_capacity(self) -> int:
        """HTTP/2: how many more requests the server lets this connection carry now."""
        return self._multiplexed().stream_capacity()

    def reserve_stream(self) -> None:
        """HTTP/2: count one more request routed here (pool lock held)."""
        self._multiplexed().reserve_stream()

    def release_stream(self, now: float) -> int:
        """HTTP/2: a routed request is done; how many remain (pool lock held)."""
        return self._multiplexed().release_stream(now)

    async def answer_idle(self) -> None:
        """HTTP/2, idle: answer what the server sent meanwhile (a PING), if it is there."""
        await self._multiplexed().answer_idle()

    def is_available(self) -> bool:
        return self._connection is not None and self._connection.is_available()

    def is_idle(self) -> bool:
        return self._connection is not None and self._connection.is_idle()

    def is_closed(self) -> bool:
        if self._connection is None:
            return self._connect_failed
        return self._connection.is_closed()

    def keepalive_expired(self, now: float) -> bool:
        return self._connection is not None and self._connection.keepalive_expired(now)

    def has_expired(self, now: float, probe: bool = True) -> bool:
        if self._connection is None:
            return self._connect_failed
        return self._connection.has_expired(now, probe)

    def info(self) -> str:
        if self._connection is None:
            return "CONNECTION FAILED" if self._connect_failed else "CONNECTING"
        return self._connection.info()

    async def aclose(self) -> None:
        self._connect_failed = self._connection is None
        if self._connection is not None:
            await self._connection.aclose()

    def __repr__(self) -> str:
        scheme, host, port = self.origin
        origin = f"{scheme.decode()}://{host.decode()}:{port}"
        return f"<{type(self).__name__} [{origin!r}, {self.info()}]>"
