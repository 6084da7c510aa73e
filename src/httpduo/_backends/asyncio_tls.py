"""TLS over another async stream: an `ssl.SSLObject` on memory BIOs (TLS in TLS).

AsyncioStream falls back to this for TLS through an HTTPS proxy tunnel where the loop's
`start_tls` cannot layer over an SSL transport (CPython < 3.11).

Rules:
- The SSLObject does the crypto; records move through the outer stream's read/write.
  Each outer read/write gets the full `timeout`, so one call may take a few of them.
- As in the other backends, no close_notify is sent or required: `aclose()` closes the
  outer stream, and an EOF from it reads as the end of the inner one.
- A failed handshake closes the outer stream and raises ConnectError / ConnectTimeout;
  later ssl.SSLError becomes ReadError / WriteError, chained with `from`.
- Nothing here is asyncio-specific: it works over any AsyncNetworkStream.
"""

from __future__ import annotations

import ssl
from functools import partial
from typing import Any, Callable, Optional, TypeVar

from httpduo._models._exceptions import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)

from .base import AsyncNetworkStream, describe_error, timeout_suffix

__all__ = ["start_tls_over_stream"]

_T = TypeVar("_T")

_TLS_READ_SIZE = 64 * 1024

_PEER_CLOSED = "the server closed the connection"


async def start_tls_over_stream(
    outer: AsyncNetworkStream,
    ssl_context: ssl.SSLContext,
    server_hostname: Optional[str],
    timeout: Optional[float],
    peer: str,
) -> AsyncNetworkStream:
    """TLS with `server_hostname` over `outer` (itself TLS); `peer` names it in errors."""
    return await _TLSOverStream.handshake(outer, ssl_context, server_hostname, timeout, peer)


class _TLSOverStream(AsyncNetworkStream):
    """TLS carried over another stream by an `ssl.SSLObject` on memory BIOs: TLS in TLS
    where the loop's start_tls cannot layer over an SSL transport (CPython < 3.11).

    Each outer read/write gets the full `timeout`, so one call may take a few of them.
    """

    __slots__ = ("_incoming", "_outer", "_outgoing", "_peer", "_ssl")

    def __init__(
        self,
        outer: AsyncNetworkStream,
        ssl_object: ssl.SSLObject,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        peer: str,
    ) -> None:
        self._outer = outer
        self._ssl = ssl_object
        self._incoming = incoming
        self._outgoing = outgoing
        self._peer = peer

    @classmethod
    async def handshake(
        cls,
        outer: AsyncNetworkStream,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str],
        timeout: Optional[float],
        peer: str,
    ) -> _TLSOverStream:
        name = server_hostname or peer
        incoming = ssl.MemoryBIO()
        outgoing = ssl.MemoryBIO()
        try:
            ssl_object = ssl_context.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
            stream = cls(outer, ssl_object, incoming, outgoing, peer)
            await stream._drive(ssl_object.do_handshake, timeout)
        except (ReadTimeout, WriteTimeout) as exc:
            await outer.aclose()
            raise ConnectTimeout(
                f"Timed out during TLS handshake with {name}{timeout_suffix(timeout)}"
            ) from exc
        except (ReadError, WriteError, OSError) as exc:
            await outer.aclose()
            reason = _PEER_CLOSED if isinstance(exc, ssl.SSLEOFError) else describe_error(exc)
            raise ConnectError(f"TLS handshake with {name} failed: {reason}") from exc
        except BaseException:
            await outer.aclose()
            raise
        return stream

    async def _flush(self, timeout: Optional[float]) -> None:
        pending = self._outgoing.read()
        if pending:
            await self._outer.write(pending, timeout)

    async def _drive(self, operation: Callable[[], _T], timeout: Optional[float]) -> _T:
        """Retry `operation` until the SSLObject stops asking for more incoming bytes."""
        while True:
            try:
                result = operation()
            except ssl.SSLWantReadError:
                await self._flush(timeout)
                data = await self._outer.read(_TLS_READ_SIZE, timeout)
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
            else:
                await self._flush(timeout)
                return result

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        try:
            return await self._drive(partial(self._ssl.read, max_bytes), timeout)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""
        except ssl.SSLError as exc:
            raise ReadError(f"Error reading from {self._peer}: {describe_error(exc)}") from exc

    async def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        if not data:
            return
        try:
            # SSLObject.write takes everything at once: the outgoing BIO is unbounded.
            await self._drive(partial(self._ssl.write, data), timeout)
        except ssl.SSLError as exc:
            raise WriteError(f"Error writing to {self._peer}: {describe_error(exc)}") from exc

    async def aclose(self) -> None:
        await self._outer.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> AsyncNetworkStream:
        return await _TLSOverStream.handshake(
            self, ssl_context, server_hostname, timeout, self._peer
        )

    def get_extra_info(self, name: str) -> Any:
        if name == "ssl_object":
            return self._ssl
        if name in ("is_readable", "readable_seen"):
            if self._ssl.pending() or self._incoming.pending:
                return True
            return self._outer.get_extra_info(name)
        return self._outer.get_extra_info(name)
