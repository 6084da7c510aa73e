"""One HTTP/2 connection: many concurrent streams over one network stream, driven by h2.

The protocol state (h2's machine, what each stream received, who waits for what) lives
in the sans-I/O `H2ClientState` (_codecs/h2_state.py), h2's set-up and the request head
conversion in _codecs/h2.py; this module does the waiting and the I/O.

Rules:
- h2 (the `http2` extra) is imported only once HTTP/2 is asked for (`load_h2()`, at the
  latest when an HTTP/2 connection is created), never by `import httpduo`.
- All protocol state changes under `_state`, a mutex held only by code that never waits,
  so threads sharing the sync twin agree.
- One writer at a time (`_write_lock`). The holder writes everything h2 has queued, in
  h2's order (stream ids and HPACK depend on it), and keeps writing until nothing is
  left, so bytes queued by anyone meanwhile are never stranded. `_writers` counts the
  tasks writing or waiting to; each stops counting in the same `_state` section that
  finds nothing left to send, so frames left to them always go out.
- One reader at a time, and no background task: a request that needs something from
  the server (headers, body data, flow-control window, the server's SETTINGS) either
  becomes the reader — reads for everyone, feeds h2, files each event with the stream
  it belongs to and wakes that stream's waiter — or waits for an event. A reader that
  has what it needed hands the role to a waiter; so does a waiter that stops waiting
  while nobody reads. Before reading again the reader flushes what h2 queued (SETTINGS
  and PING acks, WINDOW_UPDATE, RST_STREAM), so a peer waiting on those never stalls.
- Received data is acknowledged (WINDOW_UPDATE) as the response body is consumed (in
  batches, see ACK_BATCH), and at once for data that will never be consumed (closed
  streams). Large windows (see STREAM_WINDOW, CONNECTION_WINDOW) keep a fast download
  from being window-bound.
- Request bodies are streamed within the peer's flow-control window: when it is used
  up the request waits for WINDOW_UPDATE (under its write timeout); nothing buffers a
  whole upload.
- The pool counts streams: `reserve_stream()` / `release_stream()` bracket each
  request it routes here, and `stream_capacity()` is what the server allows
  (MAX_CONCURRENT_STREAMS, followed as it changes) minus what is reserved.
- A connection reused after idling first reads whatever arrived meanwhile (data for
  streams reset earlier, PING, GOAWAY, EOF) until its socket has nothing more, so a
  server that went away is noticed before a request is sent on it.
- A server's PING is answered by whoever reads: at once while any request waits for
  something on the connection. An idle one has no reader (there is no background
  task): it answers when the pool next handles a request, for any origin (`answer_idle`,
  called by the pool's sweep at most once per second), or when it is reused, whichever
  comes first. A program that sends no requests answers nothing; a server that gives
  up on the connection for it is noticed before the next request is sent on it.
- GOAWAY: no new streams; streams above its last_stream_id fail with
  `ConnectionNotAvailable` (the server did not process them; the pool retries them on
  another connection), as do streams refused with REFUSED_STREAM; the others finish.
  A response closed early after GOAWAY is dropped without RST_STREAM: the server ends
  it anyway, and h2-based servers take any frame after their GOAWAY as an error.
  A connection-level failure fails only the streams still waiting for something,
  with an error naming the cause (GOAWAY error code, disconnect, protocol error).
- Cancellation: reads are safe to interrupt. A write cut short would corrupt the
  framing, so it fails the connection (every stream) and closes it. A response given
  up (closed early, failed, or its request cancelled) resets its stream at once
  (`_send_cleanup`): the RST_STREAM goes out with the frames of a task that is writing
  or waiting to; else the closing task writes it itself, shielded from cancellation by
  `backend.shielded()` and bounded by CLEANUP_TIMEOUT, never waiting for anyone. The
  server stops sending at once, and the connection carries on.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Final, Optional

from httpduo._backends.base import AsyncEvent, AsyncNetworkBackend, AsyncNetworkStream
from httpduo._backends.mutex import AsyncMutex
from httpduo._codecs.h2 import ConnectionNotAvailable, load_h2, request_headers
from httpduo._codecs.h2_state import H2ClientState, H2Stream
from httpduo._models._exceptions import (
    ConnectTimeout,
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

from ._request_body import close_body_iterator
from ._trace import IterationStep, trace_step

__all__ = ["AsyncHTTP2Connection", "ConnectionNotAvailable", "load_h2"]

logger = logging.getLogger("httpduo.http2")

READ_SIZE: Final = 64 * 1024
# The most a closing response spends sending its RST_STREAM (less if its write timeout is).
CLEANUP_TIMEOUT: Final = 1.0
# The most `answer_idle()` spends reading (the rest of a frame that is partly there).
IDLE_ANSWER_TIMEOUT: Final = 0.25


class AsyncHTTP2Connection:
    """Multiplexes requests over one established stream that speaks HTTP/2."""

    def __init__(
        self,
        stream: AsyncNetworkStream,
        backend: AsyncNetworkBackend,
        *,
        keepalive_expiry: Optional[float] = None,
    ) -> None:
        self._h2 = H2ClientState()
        self._stream = stream
        self._backend = backend
        self._keepalive_expiry = keepalive_expiry
        self._state = AsyncMutex()
        self._write_lock = backend.create_lock()
        # Tasks writing or waiting to (under `_state`): each sends what is queued before
        # it stops, so cleanup can leave its frames to them.
        self._writers = 0
        self._closed = False
        self._reserved = 0
        # Set when the last stream is released: the next request first drains the socket.
        self._idle_check = False
        self._expire_at: Optional[float] = None

    # ---- connecting ----------------------------------------------------------------

    async def start(self, timeout: Optional[float] = None) -> None:
        """Send the connection preface and wait for the server's SETTINGS."""
        h2 = self._h2
        with self._state:
            h2.initiate()
        await self._flush(timeout)
        await self._wait_until(
            lambda reader: h2.settings_received or h2.error is not None,
            None,
            timeout,
            ConnectTimeout,
        )
        with self._state:
            if h2.error is not None and not h2.settings_received:
                error_type, message = h2.error
                raise error_type(message)

    # ---- the request path ----------------------------------------------------------

    @property
    def request_count(self) -> int:
        """How many streams this connection has opened."""
        return self._h2.request_count

    async def handle_async_request(self, request: Request) -> Response:
        """Send `request` on a new stream; return the response with its body unread."""
        timeouts = request.extensions.get("timeout") or {}
        write_timeout = timeouts.get("write")
        read_timeout = timeouts.get("read")
        headers, has_body = request_headers(request)
        if self._idle_check:
            await self._check_after_idle(read_timeout)
        with self._state:
            if not self.is_available():
                raise ConnectionNotAvailable(f"HTTP/2 connection is {self._state_name()}")
            stream = self._h2.open_stream(headers, has_body, write_timeout)
        info = {"stream_id": stream.id}
        try:
            async with trace_step("http2.send_request_headers", logger, request, info):
                await self._flush(write_timeout)
            if has_body:
                async with trace_step("http2.send_request_body", logger, request, info):
                    await self._send_body(stream, request, write_timeout)
            async with trace_step(
                "http2.receive_response_headers", logger, request, info
            ) as trace:
                await self._receive_head(stream, read_timeout)
                trace.return_value = (b"HTTP/2", stream.status, b"")
        except BaseException as exc:
            await self._close_stream(stream)
            if isinstance(exc, ConnectionNotAvailable):
                if stream.body_started and type(request.stream) is not ByteStream:
                    # Not processed, yet not sendable again: the body cannot be replayed.
                    raise RemoteProtocolError(
                        f"{exc}; the request body was already streamed and cannot be sent again"
                    ) from None
            elif stream.dropped and stream.reused and isinstance(exc, RequestError):
                raise ConnectionNotAvailable(str(exc), error=exc) from exc
            raise
        assert stream.headers is not None
        return Response._from_transport(
            stream.status,
            Headers._from_raw(stream.headers),
            HTTP2ResponseStream(self, stream, request, read_timeout),
            {
                "http_version": b"HTTP/2",
                "network_stream": self._stream,
                "stream_id": stream.id,
            },
        )

    async def _check_after_idle(self, timeout: Optional[float]) -> None:
        """Read what arrived while the connection was idle, until nothing more waits."""
        h2 = self._h2

        def drained(reader: bool) -> bool:
            if not self._idle_check or h2.error is not None or h2.goaway is not None:
                return True
            if h2.reading and not reader:
                return False  # another request is doing this check; it will settle it
            if self._stream.get_extra_info("is_readable"):
                return False
            self._idle_check = False
            h2.wake_unbound()  # the others waiting for this check
            return True

        await self._wait_until(drained, None, timeout, ReadTimeout)

    async def answer_idle(self) -> None:
        """While idle, read and answer what the server sent meanwhile (PING, SETTINGS),
        if anything is there now: a server checking on an idle connection hears back
        without a background task. The pool calls it when it handles a request (see its
        sweep). Does not wait for the network: when the socket has nothing, or another
        task reads, it returns at once. Never raises a network error (a failure only
        fails the connection, which the pool then drops), and leaves the check that the
        request reusing the connection makes (`_check_after_idle`) to that request."""
        h2 = self._h2
        stream = self._stream
        with self._state:
            if self._reserved or h2.reading or not self.is_available():
                return
        if not stream.get_extra_info("is_readable"):
            return

        def answered(reader: bool) -> bool:
            if h2.error is not None or h2.goaway is not None:
                return True
            if h2.reading and not reader:
                return True  # another task reads, and answers as it does
            return not stream.get_extra_info("is_readable")

        try:
            await self._wait_until(answered, None, IDLE_ANSWER_TIMEOUT, ReadTimeout)
        except RequestError:
            pass

    async def _send_body(
        self, stream: H2Stream, request: Request, timeout: Optional[float]
    ) -> None:
        """Send the body as DATA frames within the flow-control window, then END_STREAM."""
        body = request.stream
        if not isinstance(body, AsyncByteStream):
            raise RuntimeError(
                f"{type(self).__name__} cannot send a request body of type "
                f"{type(body).__name__}: pass bytes, or an iterable of the client's kind."
            )
        h2 = self._h2
        stream.body_started = True
        chunks = body.__aiter__()
        try:
            async for chunk in chunks:
                offset, size = 0, len(chunk)
                while offset < size:
                    with self._state:
                        reached = h2.send_data(stream, chunk, offset)
                    if reached is None:
                        return
                    if reached > offset:
                        offset = reached
                        await self._flush(timeout)
                    else:
                        await self._wait_for_window(stream, timeout)
        finally:
            await close_body_iterator(body, chunks)
        with self._state:
            if not h2.end_body(stream):
                return
        await self._flush(timeout)

    async def _wait_for_window(self, stream: H2Stream, timeout: Optional[float]) -> None:
        h2 = self._h2
        with self._state:
            h2.window_waiters.add(stream)
        try:
            await self._wait_until(
                lambda reader: h2.window_open(stream), stream, timeout, WriteTimeout
            )
        finally:
            with self._state:
                h2.window_waiters.discard(stream)

    async def _receive_head(self, stream: H2Stream, timeout: Optional[float]) -> None:
        h2 = self._h2
        await self._wait_until(
            lambda reader: (
                stream.headers is not None or stream.error is not None or h2.error is not None
            ),
            stream,
            timeout,
            ReadTimeout,
        )
        with self._state:
            if stream.headers is None:
                h2.raise_for(stream)

    async def _receive_chunk(self, stream: H2Stream, timeout: Optional[float]) -> Optional[bytes]:
        """The next piece of the response body, or None at its end."""
        h2 = self._h2
        with self._state:
            # Usually the reader already filed the next piece: take it without a wait.
            ready = bool(stream.chunks)
            if ready:
                data, pending = h2.next_chunk(stream)
        if not ready:
            await self._wait_until(
                lambda reader: (
                    bool(stream.chunks)
                    or stream.ended
                    or stream.error is not None
                    or h2.error is not None
                ),
                stream,
                timeout,
                ReadTimeout,
            )
            with self._state:
                data, pending = h2.next_chunk(stream)
        if pending:
            await self._flush(timeout)
        return data

    async def _close_stream(self, stream: H2Stream) -> None:
        """The response is done with (read, closed early, failed or cancelled).

        A stream the server has not finished is reset (RST_STREAM CANCEL), and the window
        its unread data took is handed back, at once (`_send_cleanup`): also when this
        runs because the request was cancelled. Whatever else is queued goes with them
        (say, frames a writer cancelled at its checkpoint had been left to send).
        """
        with self._state:
            self._h2.close_stream(stream)
        await self._send_cleanup(stream.write_timeout)

    # ---- reading: one reader for everyone -------------------------------------------

    async def _wait_until(
        self,
        ready: Callable[[bool], bool],
        stream: Optional[H2Stream],
        timeout: Optional[float],
        timeout_error: type[RequestError],
    ) -> None:
        """Return once `ready(reader)` (checked under the state mutex; `reader` tells
        whether this call holds the reader role) holds, reading meanwhile if nobody else
        is; raise `timeout_error` if `timeout` runs out first."""
        backend = self._backend
        h2 = self._h2
        deadline = None if timeout is None else backend.time() + timeout
        reader = False
        event: Optional[AsyncEvent] = None
        try:
            while True:
                with self._state:
                    if event is not None:
                        h2.unpark(event, stream)
                        event = None
                    if ready(reader):
                        return
                    if not h2.reading:
                        h2.reading = reader = True
                    elif not reader:
                        event = backend.create_event()
                        h2.park(event, stream)
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
                    h2.unpark(event, stream)
                if reader:
                    h2.reading = False
                h2.hand_over()

    async def _read_once(self, timeout: Optional[float]) -> None:
        """As the reader: flush, read once, feed h2, file the events, flush their replies."""
        await self._flush(timeout)
        h2 = self._h2
        try:
            data = await self._stream.read(READ_SIZE, timeout)
        except ReadError as exc:
            with self._state:
                h2.fail(ReadError, f"HTTP/2 connection broken: {exc}", broken=True)
            await self._stream.aclose()
            return
        with self._state:
            h2.receive(data)
            failed = h2.error is not None
            pending = not failed and h2.collect()
        if failed:
            await self._stream.aclose()
        elif pending:
            await self._flush(timeout)

    # ---- writing: one writer for everyone -------------------------------------------

    async def _flush(self, timeout: Optional[float]) -> None:
        """Write everything queued; on return the outbox was empty at some point after
        this call began. A write cut short fails the connection."""
        h2 = self._h2
        with self._state:
            if h2.error is not None or not h2.collect():
                return
            self._writers += 1
        try:
            async with self._write_lock:
                await self._write_queued(timeout, checkpoint=True)
        except BaseException:
            with self._state:
                self._writers -= 1
            raise

    async def _send_cleanup(self, write_timeout: Optional[float]) -> None:
        """Send what closing a stream queued, now, even in a task being cancelled.

        Nothing here waits for anyone: if a task writes, or waits to, the frames go out
        with its own. Otherwise they are written shielded from cancellation (the one that
        brought us here, or an anyio scope's next one) within CLEANUP_TIMEOUT, or the
        write timeout if shorter. A failed write fails and closes the connection, as
        ever; the response being closed does not hear of it.
        """
        h2 = self._h2
        with self._state:
            if self._writers or h2.error is not None or not h2.collect():
                return
            self._writers += 1
        timeout = CLEANUP_TIMEOUT
        if write_timeout is not None and write_timeout < timeout:
            timeout = write_timeout
        try:
            with self._backend.shielded(timeout):
                try:
                    async with self._write_lock:  # free: nobody else writes or waits to
                        await self._write_queued(timeout, checkpoint=False)
                except BaseException:
                    with self._state:
                        self._writers -= 1
                    raise  # the shield swallows its own deadline's cancellation
        except RequestError:
            pass  # the connection is failed and closed; this response is done anyway

    async def _write_queued(self, timeout: Optional[float], *, checkpoint: bool) -> None:
        """As the writer (counted in `_writers`, holding the write lock): write what is
        queued until nothing is. The writer stops being counted in the same `_state`
        section that finds the outbox empty, so frames left to it are never stranded."""
        h2 = self._h2
        while True:
            if checkpoint:
                # A cancellation due for this task lands here, before any byte leaves
                # the queue, rather than in the write.
                await self._backend.sleep(0)
            with self._state:
                if h2.error is not None:
                    # Failed meanwhile: what is queued can no longer be sent, and each
                    # stream reports the failure where it waits.
                    h2.outbox.clear()
                if h2.error is not None or not h2.collect():
                    self._writers -= 1
                    return
                data = h2.take_outbox()
            try:
                await self._stream.write(data, timeout)
            except BaseException as exc:
                with self._state:
                    if isinstance(exc, (WriteError, WriteTimeout)):
                        h2.fail(WriteError, f"HTTP/2 connection broken: {exc}", broken=True)
                    else:
                        h2.fail(
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
        return self._h2.max_streams - self._reserved

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
        h2 = self._h2
        return not self._closed and h2.error is None and h2.goaway is None and not h2.ids_exhausted

    def is_idle(self) -> bool:
        return self._reserved == 0 and not self.is_closed()

    def is_closed(self) -> bool:
        return self._closed or self._h2.error is not None

    def keepalive_expired(self, now: float) -> bool:
        """Idle for longer than the keep-alive expiry (a clock check, no syscall)."""
        return self._reserved == 0 and self._expire_at is not None and now >= self._expire_at

    def has_expired(self, now: float, probe: bool = True) -> bool:
        """Unusable, or idle past the keep-alive expiry (never a syscall, whatever
        `probe` says: what arrived while idle is read by the next request, see
        `_check_after_idle`)."""
        return not self.is_available() or self.keepalive_expired(now)

    def _state_name(self) -> str:
        if self.is_closed():
            return "CLOSED"
        if not self.is_available():
            return "CLOSING"
        return "ACTIVE" if self._reserved else "IDLE"

    def info(self) -> str:
        return (
            f"HTTP/2, {self._state_name()}, Request Count: {self._h2.request_count}, "
            f"Streams: {self._reserved}/{self._h2.max_streams}"
        )

    async def aclose(self) -> None:
        """Close the connection; streams still waiting fail. Safe to call more than once."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            self._h2.fail(ReadError, "The HTTP/2 connection was closed.")
        await self._stream.aclose()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.info()}]>"


class HTTP2ResponseStream(AsyncByteStream):
    """The body of one HTTP/2 response, handed over by the connection's reader.

    The stream is its own iterator (no generator), so a response abandoned mid-body
    leaves nothing for the garbage collector to finalise.
    """

    def __init__(
        self,
        connection: AsyncHTTP2Connection,
        stream: H2Stream,
        request: Request,
        timeout: Optional[float],
    ) -> None:
        self._connection = connection
        self._stream = stream
        self._request = request
        self._timeout = timeout
        self._closed = False
        self._step = IterationStep("http2.receive_response_body", logger, request)

    def __aiter__(self) -> HTTP2ResponseStream:
        return self

    async def __anext__(self) -> bytes:
        step = self._step
        if step.ended:
            raise StopAsyncIteration
        connection = self._connection
        try:
            await step.start()
            try:
                chunk: Optional[bytes] = b""
                while chunk == b"" and not self._closed:
                    chunk = await connection._receive_chunk(self._stream, self._timeout)
            except BaseException as exc:
                await step.end(exc)
                raise
            if not chunk:
                await step.end()
        except BaseException as exc:
            if isinstance(exc, RequestError) and exc._request is None:
                exc._request = self._request
            if not self._closed:
                self._closed = True
                await connection._close_stream(self._stream)
            raise
        if not chunk:
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with trace_step("http2.response_closed", logger, self._request):
            await self._connection._close_stream(self._stream)

    def get_extra_info(self, name: str) -> Any:
        return self._connection._stream.get_extra_info(name)
