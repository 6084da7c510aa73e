"""One HTTP/1.1 connection: a network stream driven through a sans-I/O codec.

Rules:
- The pool lends a connection to one request at a time; this class never locks.
- All protocol state lives in the codec (`_codecs/`); this class only moves bytes
  between the codec and the stream, under the request's read/write timeouts.
- State changes happen before I/O, so a cancellation at any point of I/O leaves the
  connection either reusable (response fully read) or closed — never half-used.
- A server that answers before the request body is sent (413, 401...) wins: a write
  error while sending the body is only raised if no response can be read.
- After a 101 the connection speaks the new protocol: its `network_stream` extension
  hands out first the bytes that arrived together with the 101 head.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any, Final, Optional

from httpduo._backends.base import AsyncNetworkBackend, AsyncNetworkStream
from httpduo._codecs.base import (
    END,
    NEED_DATA,
    CodecEvent,
    HTTP11Codec,
    InterimCount,
    ResponseHead,
)
from httpduo._codecs.h11 import H11Codec
from httpduo._models._exceptions import RemoteProtocolError, WriteError, attach_request
from httpduo._models._headers import Headers
from httpduo._models._requests import Request
from httpduo._models._responses import Response
from httpduo._models._streams import AsyncByteStream, ByteStream

from ._request_body import close_body_iterator
from ._trace import IterationStep, trace_step

__all__ = ["AsyncHTTP11Connection", "UpgradedStream"]

logger = logging.getLogger("httpduo.http11")

READ_SIZE: Final = 64 * 1024
# In-memory request bodies up to this size are written together with the head.
COALESCE_LIMIT: Final = 64 * 1024

_NEW, _ACTIVE, _IDLE, _CLOSED = 0, 1, 2, 3
_STATE_NAMES: Final = ("NEW", "ACTIVE", "IDLE", "CLOSED")


class AsyncHTTP11Connection:
    """Sends requests over one established stream, one at a time."""

    def __init__(
        self,
        stream: AsyncNetworkStream,
        backend: AsyncNetworkBackend,
        *,
        keepalive_expiry: Optional[float] = None,
        codec: Optional[HTTP11Codec] = None,
    ) -> None:
        self._stream = stream
        self._backend = backend
        self._keepalive_expiry = keepalive_expiry
        self._codec = codec if codec is not None else H11Codec()
        self._state = _NEW
        self._expire_at: Optional[float] = None
        self._request_count = 0
        # Whether any byte of the current response arrived: a reused connection that
        # fails before that was most likely closed by the server while idle.
        self.response_started = False

    @property
    def request_count(self) -> int:
        """How many requests this connection has carried, the current one included."""
        return self._request_count

    async def handle_async_request(self, request: Request) -> Response:
        """Send `request` and return the response with its body still to be read."""
        if self._state not in (_NEW, _IDLE):
            raise RuntimeError(f"HTTP/1.1 connection is {_STATE_NAMES[self._state]}, not idle")
        self._state = _ACTIVE
        self._expire_at = None
        self._request_count += 1
        self.response_started = False
        timeouts = request.extensions.get("timeout") or {}
        write_timeout = timeouts.get("write")
        read_timeout = timeouts.get("read")
        try:
            body = request.stream
            # A small in-memory body (none, for most requests) leaves with the head, in
            # one write: one system call, and one TCP segment for the server to take.
            small = (
                body._content
                if type(body) is ByteStream and len(body._content) <= COALESCE_LIMIT
                else None
            )
            async with trace_step("http11.send_request_headers", logger, request):
                data = self._encode_request_head(request)
                if small is not None:
                    data = self._with_body(data, small)
                await self._stream.write(data, write_timeout)
            write_error: Optional[WriteError] = None
            async with trace_step("http11.send_request_body", logger, request):
                if small is None:
                    try:
                        await self._send_request_body(body, write_timeout)
                    except WriteError as exc:
                        write_error = exc
            async with trace_step("http11.receive_response_headers", logger, request) as trace:
                try:
                    head = await self._receive_response_head(read_timeout)
                except Exception:
                    if write_error is not None:
                        raise write_error from None
                    raise
                trace.return_value = (head.http_version, head.status_code, head.reason)
        except BaseException:
            await self._close_after_failure(request)
            raise
        stream = self._stream
        if head.status_code == 101:
            leftover = self._codec.trailing_data()
            if leftover:
                stream = UpgradedStream(stream, leftover)
        return Response._from_transport(
            head.status_code,
            Headers._from_raw(head.headers),
            HTTP11ResponseStream(self, request, read_timeout),
            {
                "http_version": head.http_version,
                "reason_phrase": head.reason,
                "network_stream": stream,
            },
        )

    def _encode_request_head(self, request: Request) -> bytes:
        return self._codec.encode_request_head(
            request.method.encode("ascii"), request.url.raw_path, request.headers._list
        )

    def _with_body(self, head: bytes, content: bytes) -> bytes:
        """`head` followed by the whole body `content`, framed, and its end."""
        codec = self._codec
        if content:
            return b"".join((head, codec.encode_body(content), codec.encode_end()))
        end = codec.encode_end()
        return head + end if end else head

    async def _send_request_body(self, stream: object, timeout: Optional[float]) -> None:
        if not isinstance(stream, AsyncByteStream):
            raise RuntimeError(
                f"{type(self).__name__} cannot send a request body of type "
                f"{type(stream).__name__}: pass bytes, or an iterable of the client's kind."
            )
        encode_body = self._codec.encode_body
        if type(stream) is ByteStream:
            # In memory (and empty for most requests): no iteration needed.
            content = stream._read_all()
            if content:
                await self._stream.write(encode_body(content), timeout)
        else:
            chunks = stream.__aiter__()
            try:
                async for chunk in chunks:
                    if chunk:
                        await self._stream.write(encode_body(chunk), timeout)
            finally:
                await close_body_iterator(stream, chunks)
        end = self._codec.encode_end()
        if end:
            await self._stream.write(end, timeout)

    async def _receive_event(self, timeout: Optional[float]) -> CodecEvent:
        codec = self._codec
        while True:
            event = codec.next_event()
            if event is not NEED_DATA:
                return event
            data = await self._stream.read(READ_SIZE, timeout)
            if data:
                self.response_started = True
            codec.feed(data)

    async def _receive_response_head(self, timeout: Optional[float]) -> ResponseHead:
        interim: Optional[InterimCount] = None
        while True:
            event = await self._receive_event(timeout)
            if not isinstance(event, ResponseHead):
                raise RemoteProtocolError(f"Expected a response head from server, got {event!r}")
            # Interim 1xx responses (100 Continue, 103 Early Hints) are not the answer;
            # 101 is, since the connection now speaks another protocol.
            if event.status_code >= 200 or event.status_code == 101:
                return event
            if interim is None:
                interim = InterimCount()
            too_many = interim.add(event.status_code, event.headers)
            if too_many is not None:
                raise RemoteProtocolError(too_many)

    async def _receive_body_chunk(self, timeout: Optional[float]) -> Optional[bytes]:
        """The next piece of the response body, or None at its end."""
        # What was already received is handed out without awaiting a read.
        event = self._codec.next_event()
        if event is NEED_DATA:
            event = await self._receive_event(timeout)
        if event is END:
            return None
        if isinstance(event, bytes):
            return event
        raise RemoteProtocolError(f"Unexpected event in response body: {event!r}")

    async def _response_closed(self) -> None:
        if self._state != _ACTIVE:
            return
        if self._codec.reusable():
            self._codec.start_next_cycle()
            self._state = _IDLE
            if self._keepalive_expiry is not None:
                self._expire_at = self._backend.time() + self._keepalive_expiry
        else:
            await self.aclose()

    async def _close_after_failure(self, request: Request) -> None:
        async with trace_step("http11.response_closed", logger, request):
            await self.aclose()

    # ---- what the pool asks --------------------------------------------------------

    def is_available(self) -> bool:
        """Ready for a new request right now."""
        return self._state == _IDLE or self._state == _NEW

    def is_idle(self) -> bool:
        return self._state == _IDLE

    def is_closed(self) -> bool:
        return self._state == _CLOSED

    def keepalive_expired(self, now: float) -> bool:
        """Idle for longer than the keep-alive expiry (a clock check, no syscall)."""
        return self._state == _IDLE and self._expire_at is not None and now >= self._expire_at

    def has_expired(self, now: float, probe: bool = True) -> bool:
        """Idle past the keep-alive expiry, or dropped by the server while idle.

        A readable idle socket means the server closed it (EOF) or broke the protocol
        by talking out of turn; either way it must not carry another request. With
        `probe=False` what the backend already knows is enough when it knows something
        (an event loop that has seen the EOF), saving a system call: for requests the
        pool may resend if the server closed the connection a moment ago.
        """
        if self._state == _CLOSED:
            return True
        if self._state != _IDLE:
            return False
        if self._expire_at is not None and now >= self._expire_at:
            return True
        if not probe:
            seen = self._stream.get_extra_info("readable_seen")
            if seen is not None:
                return bool(seen)
        return bool(self._stream.get_extra_info("is_readable"))

    def info(self) -> str:
        return f"HTTP/1.1, {_STATE_NAMES[self._state]}, Request Count: {self._request_count}"

    async def aclose(self) -> None:
        """Close the connection; safe to call more than once."""
        if self._state == _CLOSED:
            return
        self._state = _CLOSED
        await self._stream.aclose()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.info()}]>"


class HTTP11ResponseStream(AsyncByteStream):
    """The body of one HTTP/1.1 response, read straight off the connection.

    The stream is its own iterator (no generator), so a response abandoned mid-body
    leaves nothing for the garbage collector to finalise.
    """

    def __init__(
        self, connection: AsyncHTTP11Connection, request: Request, timeout: Optional[float]
    ) -> None:
        self._connection = connection
        self._request = request
        self._timeout = timeout
        self._closed = False
        self._step = IterationStep("http11.receive_response_body", logger, request)

    def __aiter__(self) -> HTTP11ResponseStream:
        return self

    async def __anext__(self) -> bytes:
        step = self._step
        if step.ended:
            raise StopAsyncIteration
        try:
            await step.start()
            try:
                chunk = None
                if not self._closed:
                    chunk = await self._connection._receive_body_chunk(self._timeout)
            except BaseException as exc:
                await step.end(exc)
                raise
            if chunk is None:
                await step.end()
        except BaseException as exc:
            await self._failed(exc)
            raise
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def _aread_all(self) -> bytes:
        # What iterating does, minus a generator: the usual way a body is read.
        connection = self._connection
        parts = []
        try:
            async with trace_step("http11.receive_response_body", logger, self._request):
                while not self._closed:
                    chunk = await connection._receive_body_chunk(self._timeout)
                    if chunk is None:
                        break
                    parts.append(chunk)
        except BaseException as exc:
            await self._failed(exc)
            raise
        return b"".join(parts)

    async def _failed(self, exc: BaseException) -> None:
        # Failed or cancelled mid-body: the connection's framing is lost.
        attach_request(exc, self._request)
        self._closed = True
        await self._connection._close_after_failure(self._request)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with trace_step("http11.response_closed", logger, self._request):
            await self._connection._response_closed()

    def get_extra_info(self, name: str) -> Any:
        return self._connection._stream.get_extra_info(name)


class UpgradedStream(AsyncNetworkStream):
    """The stream of a connection after a 101: the bytes the server sent right after the
    101 head (already taken off the socket by the codec) come first, then the socket's."""

    __slots__ = ("_leftover", "_stream")

    def __init__(self, stream: AsyncNetworkStream, leftover: bytes) -> None:
        self._stream = stream
        self._leftover = leftover

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        if self._leftover:
            data = self._leftover[:max_bytes]
            self._leftover = self._leftover[max_bytes:]
            return data
        return await self._stream.read(max_bytes, timeout)

    async def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        await self._stream.write(data, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> AsyncNetworkStream:
        if self._leftover:
            raise RemoteProtocolError(
                "The server sent data after the 101 response before the TLS handshake"
            )
        return await self._stream.start_tls(ssl_context, server_hostname, timeout)

    def get_extra_info(self, name: str) -> Any:
        return self._stream.get_extra_info(name)
