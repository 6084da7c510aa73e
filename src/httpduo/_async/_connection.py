"""A connection to one origin: connects on first use, then delegates to a protocol.

Rules:
- Connecting (TCP or Unix socket, then TLS with SNI and ALPN) happens on the first
  request, outside any pool lock; failed connects are retried `retries` times with
  exponential backoff (0.5 s, 1 s, 2 s, ... capped at 8 s), connect errors only.
- ALPN picks the protocol: "h2" → HTTP/2 (when enabled), anything else → HTTP/1.1.
  `http1=False, http2=True` on plain TCP means HTTP/2 with prior knowledge.
- A connection whose connect failed or was cancelled is closed and never reused.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterable
from typing import Any, Final, Optional, Union

from httpduo._backends.base import AsyncNetworkBackend, AsyncNetworkStream
from httpduo._models._exceptions import ConnectError, ConnectTimeout, UnsupportedProtocol
from httpduo._models._requests import Request
from httpduo._models._responses import Response

from ._http11 import AsyncHTTP11Connection
from ._trace import AsyncTrace

__all__ = ["AsyncHTTPConnection", "Origin"]

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
    ) -> None:
        self.origin = origin
        self._backend = backend
        self._ssl_context = ssl_context
        self._keepalive_expiry = keepalive_expiry
        self._http1 = http1
        self._http2 = http2
        self._retries = retries
        self._local_address = local_address
        self._uds = uds
        self._socket_options = socket_options
        self._connection: Optional[AsyncHTTP11Connection] = None
        self._connect_failed = False

    async def handle_async_request(self, request: Request) -> Response:
        if self._connection is None:
            if self._connect_failed:
                raise RuntimeError("This connection failed to connect and cannot be reused")
            try:
                stream = await self._connect(request)
            except BaseException:
                self._connect_failed = True
                raise
            self._connection = self._open_protocol(stream)
        return await self._connection.handle_async_request(request)

    def _open_protocol(self, stream: AsyncNetworkStream) -> AsyncHTTP11Connection:
        ssl_object = stream.get_extra_info("ssl_object")
        alpn = None if ssl_object is None else ssl_object.selected_alpn_protocol()
        if alpn == "h2" or (self._http2 and not self._http1 and ssl_object is None):
            raise UnsupportedProtocol(
                "HTTP/2 was negotiated but httpduo's HTTP/2 connection is not available yet"
            )
        return AsyncHTTP11Connection(
            stream, self._backend, keepalive_expiry=self._keepalive_expiry
        )

    async def _connect(self, request: Request) -> AsyncNetworkStream:
        timeouts = request.extensions.get("timeout") or {}
        timeout = timeouts.get("connect")
        scheme, host, port = self.origin
        attempt = 0
        while True:
            try:
                if self._uds is None:
                    info: dict[str, Any] = {
                        "host": host.decode("ascii"),
                        "port": port,
                        "local_address": self._local_address,
                        "timeout": timeout,
                    }
                    async with AsyncTrace(
                        "connection.connect_tcp", logger, request, info
                    ) as trace:
                        stream = await self._backend.connect_tcp(
                            host.decode("ascii"),
                            port,
                            timeout=timeout,
                            local_address=self._local_address,
                            socket_options=self._socket_options,
                        )
                        trace.return_value = stream
                else:
                    info = {"path": self._uds, "timeout": timeout}
                    async with AsyncTrace(
                        "connection.connect_unix_socket", logger, request, info
                    ) as trace:
                        stream = await self._backend.connect_unix_socket(
                            self._uds, timeout=timeout, socket_options=self._socket_options
                        )
                        trace.return_value = stream
                break
            except (ConnectError, ConnectTimeout):
                if attempt >= self._retries:
                    raise
                delay = 0.0 if attempt == 0 else min(0.5 * 2 ** (attempt - 1), MAX_BACKOFF)
                attempt += 1
                async with AsyncTrace("connection.retry", logger, request, {"delay": delay}):
                    await self._backend.sleep(delay)

        if scheme == b"https":
            sni = request.extensions.get("sni_hostname") or host.decode("ascii")
            ssl_context = self._ssl_context
            if ssl_context is None:
                raise RuntimeError("An https connection needs an SSL context")
            info = {"ssl_context": ssl_context, "server_hostname": sni, "timeout": timeout}
            try:
                async with AsyncTrace("connection.start_tls", logger, request, info) as trace:
                    stream = await stream.start_tls(
                        ssl_context, server_hostname=sni, timeout=timeout
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
        return self._connection is not None and self._connection.response_started

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

    def has_expired(self, now: float) -> bool:
        if self._connection is None:
            return self._connect_failed
        return self._connection.has_expired(now)

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
