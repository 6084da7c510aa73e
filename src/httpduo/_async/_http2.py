"""One HTTP/2 connection: many concurrent streams over one network stream, driven by h2.

Rules:
- h2 (the `http2` extra) is imported only once HTTP/2 is asked for (`load_h2()`, at the
  latest when an HTTP/2 connection is created), never by `import httpduo`; without it
  that raises ImportError naming the extra.
- All protocol state (h2's and the per-stream records here) changes under `_state`, a
  mutex held only by code that never waits, so threads sharing the sync twin agree.
- One writer at a time (`_write_lock`). The holder writes everything h2 has queued, in
  h2's order (stream ids and HPACK depend on it), and keeps writing until nothing is
  left, so bytes queued by anyone meanwhile are never stranded.
- One reader at a time, and no background task: a request that needs something from
  the server (headers, body data, flow-control window, the server's SETTINGS) either
  becomes the reader — reads for everyone, feeds h2, files each event with the stream
  it belongs to and wakes that stream's waiter — or waits for an event. A reader that
  has what it needed hands the role to a waiter; so does a waiter that stops waiting
  while nobody reads. Before reading again the reader flushes what h2 queued (SETTINGS
  and PING acks, WINDOW_UPDATE, RST_STREAM), so a peer waiting on those never stalls.
- Received data is acknowledged (WINDOW_UPDATE) as the response body is consumed, and
  at once for data that will never be consumed (closed streams). Large windows (see
  STREAM_WINDOW, CONNECTION_WINDOW) keep a fast download from being window-bound.
- Request bodies are streamed within the peer's flow-control window: when it is used
  up the request waits for WINDOW_UPDATE (under its write timeout); nothing buffers a
  whole upload.
- The pool counts streams: `reserve_stream()` / `release_stream()` bracket each
  request it routes here, and `stream_capacity()` is what the server allows
  (MAX_CONCURRENT_STREAMS, followed as it changes) minus what is reserved.
- A connection reused after idling first reads whatever arrived meanwhile (data for
  streams reset earlier, PING, GOAWAY, EOF) until its socket has nothing more, so a
  server that went away is noticed before a request is sent on it.
- GOAWAY: no new streams; streams above its last_stream_id fail with
  `ConnectionNotAvailable` (the server did not process them; the pool retries them on
  another connection), as do streams refused with REFUSED_STREAM; the others finish.
  A response closed early after GOAWAY is dropped without RST_STREAM: the server ends
  it anyway, and h2-based servers take any frame after their GOAWAY as an error.
  A connection-level failure fails only the streams still waiting for something,
  with an error naming the cause (GOAWAY error code, disconnect, protocol error).
- Cancellation: reads are safe to interrupt. A write cut short would corrupt the
  framing, so it fails the connection (every stream) and closes it. Cleanup after a
  cancellation queues RST_STREAM without writing; the next writer or reader sends it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Callable, Final, Optional

from httpduo._backends.base import AsyncEvent, AsyncNetworkBackend, AsyncNetworkStream
from httpduo._backends.mutex import AsyncMutex
from httpduo._models._exceptions import (
    ConnectTimeout,
    LocalProtocolError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    RequestError,
    WriteError,
    WriteTimeout,
)
from httpduo._models._headers import Headers
from httpduo._models._requests import Request
from httpduo._models._responses import Response
from httpduo._models._streams import AsyncByteStream, ByteStream

from ._trace import AsyncTrace

if TYPE_CHECKING:
    import h2.connection
    import h2.events

__all__ = ["AsyncHTTP2Connection", "ConnectionNotAvailable", "load_h2"]

logger = logging.getLogger("httpduo.http2")

READ_SIZE: Final = 64 * 1024
# What the server may send before we acknowledge: per stream, and for all streams.
STREAM_WINDOW: Final = 4 * 1024 * 1024
CONNECTION_WINDOW: Final = 16 * 1024 * 1024
DEFAULT_WINDOW: Final = 65_535
# As much response header as the HTTP/1.1 codec accepts (MAX_RESPONSE_HEAD_SIZE).
MAX_HEADER_LIST_SIZE: Final = 128 * 1024
# Until the server's SETTINGS say otherwise (RFC 9113 recommends at least 100).
DEFAULT_MAX_STREAMS: Final = 100

# Hop-by-hop headers HTTP/2 forbids (RFC 9113 8.2.2); Host travels as :authority.
_DROPPED_HEADERS: Final = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade", b"host"}
)

_ErrorSpec = tuple[type[Exception], str]


class ConnectionNotAvailable(Exception):
    """Internal: the request can go to another connection. The pool catches it and
    routes the request again; it never reaches users.

    Without `error`, the request was certainly not processed: raised before a stream is
    opened (connection closing, streams exhausted) and for streams the server refused
    or dropped with GOAWAY. With `error`, the connection went away before any of the
    response arrived on one that had answered before (most likely closed while idle or
    at a request limit): the request may be sent again only if that is harmless
    (idempotent, body replayable), else `error` is what the caller gets.
    """

    def __init__(self, message: str, *, error: Optional[Exception] = None) -> None:
        super().__init__(message)
        self.error = error


def load_h2() -> None:
    """Import h2, or fail with ImportError saying how to install it."""
    try:
        import h2.config
        import h2.connection
        import h2.events
        import h2.exceptions
        import h2.settings  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "Using HTTP/2 requires the 'h2' package, which is not installed. "
            "Install it with: pip install 'httpduo[http2]'"
        ) from exc


def _error_name(code: Any) -> str:
    from h2.errors import ErrorCodes

    try:
        return ErrorCodes(int(code)).name
    except ValueError:
        return f"error code {int(code)}"


# h2 ends the connection state machine on a received GOAWAY, after which it refuses the
# frames of the streams the server still finishes. This copy of its transition table
# keeps a client connection open instead; new streams are refused by us, not by h2.
_graceful_transitions: Optional[dict[Any, Any]] = None


def _new_h2_state() -> h2.connection.H2Connection:
    global _graceful_transitions
    load_h2()
    import h2.config
    import h2.connection
    import h2.settings

    codes = h2.settings.SettingCodes
    state = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding=None)
    )
    settings = h2.settings.Settings(
        client=True,
        initial_values={
            codes.ENABLE_PUSH: 0,
            codes.MAX_CONCURRENT_STREAMS: DEFAULT_MAX_STREAMS,
            codes.MAX_HEADER_LIST_SIZE: MAX_HEADER_LIST_SIZE,
            codes.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
        },
    )
    # A server-side capability: a client has nothing to announce, and some servers balk.
    del settings[codes.ENABLE_CONNECT_PROTOCOL]
    state.local_settings = settings
    state.decoder.max_header_list_size = MAX_HEADER_LIST_SIZE
    if _graceful_transitions is None:
        machine = h2.connection.H2ConnectionStateMachine
        inputs, states = h2.connection.ConnectionInputs, h2.connection.ConnectionState
        table = dict(machine._transitions)
        table[(states.CLIENT_OPEN, inputs.RECV_GOAWAY)] = (None, states.CLIENT_OPEN)
        _graceful_transitions = table
    state.state_machine._transitions = _graceful_transitions
    return state


class _Stream:
    """What one request's stream has received so far, filed by the reader."""

    __slots__ = (
        "body_started",
        "chunks",
        "dropped",
        "ended",
        "error",
        "headers",
        "id",
        "open",
        "received",
        "reused",
        "status",
        "waiter",
        "write_timeout",
    )

    def __init__(self, stream_id: int, write_timeout: Optional[float], reused: bool) -> None:
        self.id = stream_id
        self.reused = reused  # opened after an earlier response had completed
        self.write_timeout = write_timeout
        self.status = 0
        self.headers: Optional[list[tuple[bytes, bytes]]] = None
        # Body pieces with their flow-controlled length (padding included), to acknowledge.
        self.chunks: deque[tuple[bytes, int]] = deque()
        self.ended = False  # the server's END_STREAM arrived
        self.received = False  # any frame of the response arrived
        self.dropped = False  # the connection went away before any frame arrived
        self.error: Optional[_ErrorSpec] = None
        self.open = True  # until the response is closed
        self.body_started = False  # the request body began to be consumed
        self.waiter: Optional[AsyncEvent] = None


class AsyncHTTP2Connection:
    """Multiplexes requests over one established stream that speaks HTTP/2."""

    def __init__(
        self,
        stream: AsyncNetworkStream,
        backend: AsyncNetworkBackend,
        *,
        keepalive_expiry: Optional[float] = None,
    ) -> None:
        self._h2 = _new_h2_state()
        self._stream = stream
        self._backend = backend
        self._keepalive_expiry = keepalive_expiry
        self._state = AsyncMutex()
        self._write_lock = backend.create_lock()
        self._streams: dict[int, _Stream] = {}
        # Everyone waiting for the reader (insertion order picks the next reader).
        self._waiters: dict[AsyncEvent, Optional[_Stream]] = {}
        self._window_waiters: set[_Stream] = set()
        self._reading = False
        # Bytes taken from h2 but not yet written, in h2's order.
        self._outbox = bytearray()
        self._error: Optional[_ErrorSpec] = None
        self._closed = False
        self._settings_received = False
        self._goaway: Optional[tuple[int, str]] = None  # (last_stream_id, error name)
        self._ids_exhausted = False
        self._max_streams = DEFAULT_MAX_STREAMS
        self._reserved = 0
        # Set when the last stream is released: the next request first drains the socket.
        self._idle_check = False
        self._request_count = 0
        self._answered = 0  # responses received in full
        self._expire_at: Optional[float] = None
        self._handlers: dict[type[Any], Callable[[Any], None]] = self._event_handlers()

    # ---- connecting ----------------------------------------------------------------

    async def start(self, timeout: Optional[float] = None) -> None:
        """Send the connection preface and wait for the server's SETTINGS."""
        with self._state:
            self._h2.initiate_connection()
            self._h2.increment_flow_control_window(CONNECTION_WINDOW - DEFAULT_WINDOW)
        await self._flush(timeout)
        await self._wait_until(
            lambda reader: self._settings_received or self._error is not None,
            None,
            timeout,
            ConnectTimeout,
        )
        with self._state:
            if self._error is not None and not self._settings_received:
                error_type, message = self._error
                raise error_type(message)

    # ---- the request path ----------------------------------------------------------

    @property
    def request_count(self) -> int:
        """How many streams this connection has opened."""
        return self._request_count

    async def handle_async_request(self, request: Request) -> Response:
        """Send `request` on a new stream; return the response with its body unread."""
        timeouts = request.extensions.get("timeout") or {}
        write_timeout = timeouts.get("write")
        read_timeout = timeouts.get("read")
        headers, has_body = _request_headers(request)
        if self._idle_check:
            await self._check_after_idle(read_timeout)
        with self._state:
            stream = self._open_stream(headers, has_body, write_timeout)
        info = {"stream_id": stream.id}
        try:
            async with AsyncTrace("http2.send_request_headers", logger, request, info):
                await self._flush(write_timeout)
            if has_body:
                async with AsyncTrace("http2.send_request_body", logger, request, info):
                    await self._send_body(stream, request, write_timeout)
            async with AsyncTrace(
                "http2.receive_response_headers", logger, request, info
            ) as trace:
                await self._receive_head(stream, read_timeout)
                trace.return_value = (b"HTTP/2", stream.status, b"")
        except BaseException as exc:
            await self._close_stream(stream, exc)
            if isinstance(exc, ConnectionNotAvailable):
                if stream.body_started and not isinstance(request.stream, ByteStream):
                    # Not processed, yet not sendable again: the body cannot be replayed.
                    raise RemoteProtocolError(
                        f"{exc}; the request body was already streamed and cannot be sent again"
                    ) from None
            elif stream.dropped and stream.reused and isinstance(exc, RequestError):
                raise ConnectionNotAvailable(str(exc), error=exc) from exc
            raise
        assert stream.headers is not None
        return Response(
            stream.status,
            headers=Headers._from_raw(stream.headers),
            stream=HTTP2ResponseStream(self, stream, request, read_timeout),
            extensions={
                "http_version": b"HTTP/2",
                "network_stream": self._stream,
                "stream_id": stream.id,
            },
        )

    async def _check_after_idle(self, timeout: Optional[float]) -> None:
        """Read what arrived while the connection was idle, until nothing more waits."""

        def drained(reader: bool) -> bool:
            if not self._idle_check or self._error is not None or self._goaway is not None:
                return True
            if self._reading and not reader:
                return False  # another request is doing this check; it will settle it
            if self._stream.get_extra_info("is_readable"):
                return False
            self._idle_check = False
            self._wake_unbound()  # the others waiting for this check
            return True

        await self._wait_until(drained, None, timeout, ReadTimeout)

    def _open_stream(
        self, headers: list[tuple[bytes, bytes]], has_body: bool, write_timeout: Optional[float]
    ) -> _Stream:
        """Under the state mutex: queue HEADERS on a new stream."""
        import h2.exceptions

        if not self.is_available():
            raise ConnectionNotAvailable(f"HTTP/2 connection is {self._state_name()}")
        h2_state = self._h2
        try:
            stream_id = h2_state.get_next_available_stream_id()
        except h2.exceptions.NoAvailableStreamIDError:
            self._ids_exhausted = True
            raise ConnectionNotAvailable("HTTP/2 connection has used all stream ids") from None
        try:
            h2_state.send_headers(stream_id, headers, end_stream=not has_body)
        except h2.exceptions.TooManyStreamsError:
            raise ConnectionNotAvailable(
                "the server's MAX_CONCURRENT_STREAMS allows no more streams now"
            ) from None
        except h2.exceptions.ProtocolError as exc:
            raise LocalProtocolError(f"Invalid HTTP/2 request headers: {exc}") from exc
        stream = _Stream(stream_id, write_timeout, self._answered > 0)
        self._streams[stream_id] = stream
        self._request_count += 1
        return stream

    async def _send_body(
        self, stream: _Stream, request: Request, timeout: Optional[float]
    ) -> None:
        """Send the body as DATA frames within the flow-control window, then END_STREAM."""
        import h2.exceptions

        body = request.stream
        if not isinstance(body, AsyncByteStream):
            raise RuntimeError(
                f"{type(self).__name__} cannot send a request body of type "
                f"{type(body).__name__}: pass bytes, or an iterable of the client's kind."
            )
        h2_state = self._h2
        stream.body_started = True
        async for chunk in body:
            offset, size = 0, len(chunk)
            while offset < size:
                with self._state:
                    if self._body_unwanted(stream):
                        return
                    try:
                        window = h2_state.local_flow_control_window(stream.id)
                        sent = False
                        while window > 0 and offset < size:
                            n = min(window, h2_state.max_outbound_frame_size, size - offset)
                            h2_state.send_data(stream.id, chunk[offset : offset + n])
                            offset += n
                            window -= n
                            sent = True
                    except h2.exceptions.StreamClosedError:
                        # The server closed the stream (with or without an answer).
                        return
                if sent:
                    await self._flush(timeout)
                else:
                    await self._wait_for_window(stream, timeout)
        with self._state:
            if self._body_unwanted(stream):
                return
            try:
                h2_state.end_stream(stream.id)
            except h2.exceptions.StreamClosedError:
                return
        await self._flush(timeout)

    def _body_unwanted(self, stream: _Stream) -> bool:
        """Under the state mutex: whether to stop sending the body (raises on failure)."""
        if stream.error is not None:
            error_type, message = stream.error
            raise error_type(message)
        if self._error is not None:
            error_type, message = self._error
            raise error_type(message)
        # A server that already sent its whole answer does not need the rest.
        return stream.ended

    async def _wait_for_window(self, stream: _Stream, timeout: Optional[float]) -> None:
        import h2.exceptions

        def ready(reader: bool) -> bool:
            if stream.error is not None or stream.ended or self._error is not None:
                return True
            try:
                return self._h2.local_flow_control_window(stream.id) > 0
            except h2.exceptions.StreamClosedError:
                return True

        with self._state:
            self._window_waiters.add(stream)
        try:
            await self._wait_until(ready, stream, timeout, WriteTimeout)
        finally:
            with self._state:
                self._window_waiters.discard(stream)

    async def _receive_head(self, stream: _Stream, timeout: Optional[float]) -> None:
        await self._wait_until(
            lambda reader: (
                stream.headers is not None or stream.error is not None or self._error is not None
            ),
            stream,
            timeout,
            ReadTimeout,
        )
        with self._state:
            if stream.headers is None:
                self._raise_for(stream)

    async def _receive_chunk(self, stream: _Stream, timeout: Optional[float]) -> Optional[bytes]:
        """The next piece of the response body, or None at its end."""
        await self._wait_until(
            lambda reader: (
                bool(stream.chunks)
                or stream.ended
                or stream.error is not None
                or self._error is not None
            ),
            stream,
            timeout,
            ReadTimeout,
        )
        with self._state:
            if not stream.chunks:
                if stream.ended:
                    return None
                self._raise_for(stream)
            data, flow_controlled = stream.chunks.popleft()
            pending = False
            if flow_controlled and self._error is None:
                self._h2.acknowledge_received_data(flow_controlled, stream.id)
                pending = self._collect()
        if pending:
            await self._flush(timeout)
        return data

    def _raise_for(self, stream: _Stream) -> None:
        """Under the state mutex: raise why `stream` cannot get what it waits for."""
        error = stream.error or self._error
        if error is None:
            raise RemoteProtocolError(f"HTTP/2 stream {stream.id} ended unexpectedly")
        error_type, message = error
        raise error_type(message)

    async def _close_stream(self, stream: _Stream, exc: Optional[BaseException]) -> None:
        """The response is done with (read, closed early, failed or cancelled).

        A stream the server has not finished is reset (RST_STREAM CANCEL), and the window
        its unread data took is handed back. After a cancellation (anything that is not
        an Exception) nothing is written here: the next flush sends the frames.
        """
        import h2.errors
        import h2.exceptions

        with self._state:
            if not stream.open:
                return
            stream.open = False
            self._streams.pop(stream.id, None)
            self._window_waiters.discard(stream)
            if stream.waiter is not None:
                self._waiters.pop(stream.waiter, None)
                stream.waiter = None
            unread = sum(length for _, length in stream.chunks)
            stream.chunks.clear()
            if self._error is not None or self._goaway is not None:
                # After GOAWAY the server finishes the stream on its own; some servers
                # (h2-based ones) treat any frame after their GOAWAY as an error.
                return
            try:
                if unread:
                    self._h2.acknowledge_received_data(unread, stream.id)
                self._h2.reset_stream(stream.id, h2.errors.ErrorCodes.CANCEL)
            except h2.exceptions.ProtocolError:
                pass  # already closed on both sides, or by the server
            pending = self._collect()
        if pending and (exc is None or isinstance(exc, Exception)):
            try:
                await self._flush(stream.write_timeout)
            except RequestError:
                pass  # the connection is failed and closed; this response is done anyway

    # ---- reading: one reader for everyone -------------------------------------------

    async def _wait_until(
        self,
        ready: Callable[[bool], bool],
        stream: Optional[_Stream],
        timeout: Optional[float],
        timeout_error: type[RequestError],
    ) -> None:
        """Return once `ready(reader)` (checked under the state mutex; `reader` tells
        whether this call holds the reader role) holds, reading meanwhile if nobody else
        is; raise `timeout_error` if `timeout` runs out first."""
        backend = self._backend
        deadline = None if timeout is None else backend.time() + timeout
        reader = False
        event: Optional[AsyncEvent] = None
        try:
            while True:
                with self._state:
                    if event is not None:
                        self._unregister(event, stream)
                        event = None
                    if ready(reader):
                        return
                    if not self._reading:
                        self._reading = reader = True
                    elif not reader:
                        event = backend.create_event()
                        self._waiters[event] = stream
                        if stream is not None:
                            stream.waiter = event
                remaining = None if deadline is None else max(deadline - backend.time(), 0.0)
                if reader:
                    try:
                        await self._read_once(remaining)
                    except ReadTimeout as exc:
                        if timeout_error is ReadTimeout:
                            raise
                        raise timeout_error(str(exc)) from exc
                else:
                    assert event is not None
                    if not await event.wait(remaining):
                        raise timeout_error(f"Timed out after {timeout:g}s waiting on HTTP/2")
        finally:
            with self._state:
                if event is not None:
                    self._unregister(event, stream)
                if reader:
                    self._reading = False
                self._hand_over()

    def _unregister(self, event: AsyncEvent, stream: Optional[_Stream]) -> None:
        self._waiters.pop(event, None)
        if stream is not None and stream.waiter is event:
            stream.waiter = None

    def _hand_over(self) -> None:
        """Under the state mutex: if nobody reads, wake a waiter to take the role."""
        if self._reading or not self._waiters:
            return
        event = next(iter(self._waiters))
        stream = self._waiters.pop(event)
        if stream is not None and stream.waiter is event:
            stream.waiter = None
        event.set()

    def _wake(self, stream: _Stream) -> None:
        event = stream.waiter
        if event is not None:
            stream.waiter = None
            self._waiters.pop(event, None)
            event.set()

    def _wake_unbound(self) -> None:
        """Wake the waits that are for the connection rather than for a stream."""
        for event, stream in list(self._waiters.items()):
            if stream is None:
                del self._waiters[event]
                event.set()

    def _wake_all(self) -> None:
        waiters = self._waiters
        self._waiters = {}
        for event, stream in waiters.items():
            if stream is not None:
                stream.waiter = None
            event.set()

    async def _read_once(self, timeout: Optional[float]) -> None:
        """As the reader: flush, read once, feed h2, file the events, flush their replies."""
        await self._flush(timeout)
        try:
            data = await self._stream.read(READ_SIZE, timeout)
        except ReadError as exc:
            with self._state:
                self._fail(ReadError, f"HTTP/2 connection broken: {exc}", broken=True)
            await self._stream.aclose()
            return
        with self._state:
            self._receive(data)
            failed = self._error is not None
            pending = not failed and self._collect()
        if failed:
            await self._stream.aclose()
        elif pending:
            await self._flush(timeout)

    def _receive(self, data: bytes) -> None:
        """Under the state mutex: feed `data` (b"" at EOF) to h2 and file the events."""
        import h2.exceptions

        if not data:
            self._fail_disconnected()
            return
        # Queued frames are moved out first: a GOAWAY makes h2 drop its outgoing buffer.
        self._collect()
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self._fail(RemoteProtocolError, f"Invalid HTTP/2 data from the server: {exc}")
            return
        handlers = self._handlers
        for event in events:
            handler = handlers.get(type(event))
            if handler is not None:
                handler(event)

    def _event_handlers(self) -> dict[type[Any], Callable[[Any], None]]:
        import h2.events as ev

        return {
            ev.ResponseReceived: self._on_response,
            ev.DataReceived: self._on_data,
            ev.StreamEnded: self._on_stream_ended,
            ev.StreamReset: self._on_stream_reset,
            ev.WindowUpdated: self._on_window_updated,
            ev.RemoteSettingsChanged: self._on_settings,
            ev.ConnectionTerminated: self._on_goaway,
            ev.InformationalResponseReceived: self._on_informational,
            ev.TrailersReceived: self._on_informational,
        }

    def _on_response(self, event: h2.events.ResponseReceived) -> None:
        stream = self._streams.get(event.stream_id)
        if stream is None:
            return
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        for name, value in event.headers or ():
            if name == b":status":
                status = int(value)
            elif not name.startswith(b":"):
                headers.append((bytes(name), bytes(value)))
        stream.status = status
        stream.headers = headers
        stream.received = True
        self._wake(stream)

    def _on_informational(self, event: Any) -> None:
        # 1xx heads and trailers are not passed on; they do show the server is answering.
        stream = self._streams.get(event.stream_id)
        if stream is not None:
            stream.received = True

    def _on_data(self, event: h2.events.DataReceived) -> None:
        stream_id: int = event.stream_id
        length: int = event.flow_controlled_length or 0
        stream = self._streams.get(stream_id)
        if stream is None:
            # Nobody will read it: hand the window straight back (unless going away).
            if length and self._goaway is None:
                self._h2.acknowledge_received_data(length, stream_id)
            return
        stream.chunks.append((bytes(event.data or b""), length))
        stream.received = True
        self._wake(stream)

    def _on_stream_ended(self, event: h2.events.StreamEnded) -> None:
        stream = self._streams.get(event.stream_id)
        if stream is not None:
            stream.ended = True
            self._answered += 1
            self._wake(stream)

    def _on_stream_reset(self, event: h2.events.StreamReset) -> None:
        from h2.errors import ErrorCodes

        stream = self._streams.get(event.stream_id)
        if stream is None or stream.ended:
            return  # a reset after a complete answer (e.g. NO_ERROR) changes nothing
        code = event.error_code
        if code == ErrorCodes.REFUSED_STREAM and not stream.received:
            # RFC 9113 8.7: a refused stream was not processed; safe to send again.
            stream.error = (ConnectionNotAvailable, f"server refused stream {stream.id}")
        else:
            stream.error = (
                RemoteProtocolError,
                f"Server reset HTTP/2 stream {stream.id}: {_error_name(code)}",
            )
        self._window_waiters.discard(stream)
        self._wake(stream)

    def _on_window_updated(self, event: h2.events.WindowUpdated) -> None:
        if event.stream_id:
            stream = self._streams.get(event.stream_id)
            if stream is not None and stream in self._window_waiters:
                self._wake(stream)
        else:
            for stream in self._window_waiters:
                self._wake(stream)

    def _on_settings(self, event: h2.events.RemoteSettingsChanged) -> None:
        from h2.settings import SettingCodes

        self._settings_received = True
        # Absent from the SETTINGS means unlimited: h2 then reports its own large default.
        self._max_streams = self._h2.remote_settings.max_concurrent_streams
        if SettingCodes.INITIAL_WINDOW_SIZE in event.changed_settings:
            for stream in self._window_waiters:
                self._wake(stream)
        self._wake_unbound()  # the start-up wait

    def _on_goaway(self, event: h2.events.ConnectionTerminated) -> None:
        last_stream_id: int = event.last_stream_id or 0
        name = _error_name(event.error_code or 0)
        if self._goaway is not None:
            last_stream_id = min(last_stream_id, self._goaway[0])
        self._goaway = (last_stream_id, name)
        for stream in self._streams.values():
            if stream.id > last_stream_id and not stream.ended and stream.error is None:
                stream.error = (
                    ConnectionNotAvailable,
                    f"stream {stream.id} not processed: GOAWAY ({name}, "
                    f"last_stream_id={last_stream_id})",
                )
        self._wake_all()

    def _fail_disconnected(self) -> None:
        if self._goaway is not None:
            last_stream_id, name = self._goaway
            reason = f"after GOAWAY ({name}, last_stream_id={last_stream_id})"
        else:
            reason = "without GOAWAY"
        for stream in self._streams.values():
            if stream.ended or stream.error is not None:
                continue
            if stream.received:
                message = f"Server disconnected {reason} before the response was complete."
            else:
                message = f"Server disconnected {reason} without sending a response."
                stream.dropped = True
            stream.error = (RemoteProtocolError, message)
        self._fail(RemoteProtocolError, f"Server disconnected the HTTP/2 connection {reason}.")

    def _fail(self, error_type: type[Exception], message: str, *, broken: bool = False) -> None:
        """Under the state mutex: the connection is unusable; fail the waiting streams.

        `broken`: the connection itself broke (not the server's protocol, not our close),
        so streams that had no answer yet were dropped rather than refused."""
        if self._error is None:
            self._error = (error_type, message)
        for stream in self._streams.values():
            if not stream.ended and stream.error is None:
                stream.error = (error_type, message)
                stream.dropped = broken and not stream.received
        self._window_waiters.clear()
        self._wake_all()

    # ---- writing: one writer for everyone -------------------------------------------

    def _collect(self) -> bool:
        """Under the state mutex: move what h2 queued to the outbox; anything to send?"""
        data = self._h2.data_to_send()
        if data:
            self._outbox += data
        return bool(self._outbox)

    async def _flush(self, timeout: Optional[float]) -> None:
        """Write everything queued; on return the outbox was empty at some point after
        this call began. A write cut short fails the connection."""
        with self._state:
            if self._error is not None or not self._collect():
                return
        async with self._write_lock:
            while True:
                # A cancellation due for this task lands here, before any byte leaves
                # the queue, rather than in the write.
                await self._backend.sleep(0)
                with self._state:
                    if self._error is not None:
                        # Failed meanwhile: what is queued can no longer be sent, and
                        # each stream reports the failure where it waits.
                        self._outbox.clear()
                        return
                    if not self._collect():
                        return
                    data = bytes(self._outbox)
                    self._outbox.clear()
                try:
                    await self._stream.write(data, timeout)
                except BaseException as exc:
                    with self._state:
                        if isinstance(exc, (WriteError, WriteTimeout)):
                            self._fail(WriteError, f"HTTP/2 connection broken: {exc}", broken=True)
                        else:
                            self._fail(
                                WriteError,
                                "HTTP/2 connection closed: a write on it was interrupted",
                                broken=True,
                            )
                    await self._stream.aclose()
                    raise

    # ---- what the pool asks --------------------------------------------------------

    def stream_capacity(self) -> int:
        """How many more requests the pool may route here now."""
        if not self.is_available():
            return 0
        return self._max_streams - self._reserved

    def reserve_stream(self) -> None:
        """The pool routes one more request here (called under the pool's lock)."""
        self._reserved += 1
        self._expire_at = None

    def release_stream(self, now: float) -> int:
        """A routed request is done; returns how many remain (under the pool's lock)."""
        self._reserved -= 1
        if self._reserved == 0:
            self._idle_check = True
            if self._keepalive_expiry is not None:
                self._expire_at = now + self._keepalive_expiry
        return self._reserved

    def is_available(self) -> bool:
        """Can open new streams (not closing, failed or out of stream ids)."""
        return (
            not self._closed
            and self._error is None
            and self._goaway is None
            and not self._ids_exhausted
        )

    def is_idle(self) -> bool:
        return self._reserved == 0 and not self.is_closed()

    def is_closed(self) -> bool:
        return self._closed or self._error is not None

    def keepalive_expired(self, now: float) -> bool:
        """Idle for longer than the keep-alive expiry (a clock check, no syscall)."""
        return self._reserved == 0 and self._expire_at is not None and now >= self._expire_at

    def has_expired(self, now: float) -> bool:
        """Unusable, or idle past the keep-alive expiry (no syscall: what arrived while
        idle is read by the next request, see `_check_after_idle`)."""
        return not self.is_available() or self.keepalive_expired(now)

    def _state_name(self) -> str:
        if self.is_closed():
            return "CLOSED"
        if not self.is_available():
            return "CLOSING"
        return "ACTIVE" if self._reserved else "IDLE"

    def info(self) -> str:
        return (
            f"HTTP/2, {self._state_name()}, Request Count: {self._request_count}, "
            f"Streams: {self._reserved}/{self._max_streams}"
        )

    async def aclose(self) -> None:
        """Close the connection; streams still waiting fail. Safe to call more than once."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            self._fail(ReadError, "The HTTP/2 connection was closed.")
        await self._stream.aclose()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.info()}]>"


def _request_headers(request: Request) -> tuple[list[tuple[bytes, bytes]], bool]:
    """Pseudo-headers, then the request's headers lower-cased minus hop-by-hop ones."""
    url = request.url
    authority: Optional[bytes] = None
    has_body = False
    fields: list[tuple[bytes, bytes]] = []
    for name, value in request.headers.raw:
        name = name.lower()
        if name in _DROPPED_HEADERS:
            if name == b"host" and authority is None:
                authority = value
            elif name == b"transfer-encoding":
                has_body = True
            continue
        if name == b"te" and value.strip().lower() != b"trailers":
            continue
        if name == b"content-length":
            has_body = True
        fields.append((name, value))
    if authority is None:
        authority = url.netloc
    pseudo = [
        (b":method", request.method.encode("ascii")),
        (b":authority", authority),
        (b":scheme", url.raw_scheme),
        (b":path", url.raw_path or b"/"),
    ]
    return pseudo + fields, has_body


class HTTP2ResponseStream(AsyncByteStream):
    """The body of one HTTP/2 response, handed over by the connection's reader."""

    def __init__(
        self,
        connection: AsyncHTTP2Connection,
        stream: _Stream,
        request: Request,
        timeout: Optional[float],
    ) -> None:
        self._connection = connection
        self._stream = stream
        self._request = request
        self._timeout = timeout
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        try:
            async with AsyncTrace("http2.receive_response_body", logger, self._request):
                while not self._closed:
                    chunk = await connection._receive_chunk(self._stream, self._timeout)
                    if chunk is None:
                        break
                    if chunk:
                        yield chunk
        except BaseException as exc:
            if isinstance(exc, RequestError) and exc._request is None:
                exc._request = self._request
            if not self._closed:
                self._closed = True
                await connection._close_stream(self._stream, exc)
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with AsyncTrace("http2.response_closed", logger, self._request):
            await self._connection._close_stream(self._stream, None)

    def get_extra_info(self, name: str) -> Any:
        return self._connection._stream.get_extra_info(name)
