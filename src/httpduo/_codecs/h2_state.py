"""The state of one client HTTP/2 connection without its I/O: h2's machine, a record per
stream, and who waits for what.

Rules:
- Nothing here reads, writes, sleeps or locks; every method returns at once. The state is
  not thread-safe by itself: the connection touches it only under its state mutex.
- `receive()` feeds h2 what the connection read and files each event with the stream it
  belongs to (head, body pieces, end, reset), waking that stream's waiter; news for the
  whole connection (SETTINGS, WINDOW_UPDATE, GOAWAY, a failure) wakes the waits it
  concerns.
- What h2 queues to send is moved to `outbox` (`collect()`) in h2's order (stream ids and
  HPACK depend on it) for the connection's one writer. `receive()` collects first: a
  received GOAWAY makes h2 drop its outgoing buffer.
- Waiters are opaque handles with `set()` (the backend's events). `waiters` keeps them in
  arrival order with the stream each waits for (None: the connection itself); the first
  is the one woken to become the next reader (`hand_over()`).
- Failures are filed as (exception type, message) on the streams still waiting for
  something and raised where each one waits (`raise_for`). A stream the server refused
  (REFUSED_STREAM) or left unprocessed (above a GOAWAY's last_stream_id) gets
  `ConnectionNotAvailable`: the pool sends it again elsewhere.
- Received data is acknowledged (WINDOW_UPDATE) as the body is taken (`next_chunk()`),
  and at once for data nobody will read. Taken data is handed to h2 in batches: once
  ACK_BATCH bytes were taken across all streams, and when a stream is closed. What is
  held back stays far below the windows, so the server is never stalled by it. A stream
  given up early is reset (CANCEL) with its unread data acknowledged, except after
  GOAWAY or a failure.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Final, NoReturn, Optional, Protocol

from httpduo._models._exceptions import LocalProtocolError, RemoteProtocolError

from .base import InterimCount
from .h2 import (
    CONNECTION_WINDOW,
    DEFAULT_MAX_STREAMS,
    DEFAULT_WINDOW,
    STREAM_WINDOW,
    ConnectionNotAvailable,
    error_name,
    new_h2_state,
    response_head,
)

if TYPE_CHECKING:
    import h2.events

__all__ = ["ErrorSpec", "H2ClientState", "H2Stream", "Waiter"]

# Body bytes taken (all streams together) before h2 hears of them: a per-frame
# acknowledgement through h2 is a sizeable share of a frame's cost. Kept well under both
# windows, so with what h2 itself holds back (half a window) the server never runs dry.
ACK_BATCH: Final = min(STREAM_WINDOW, CONNECTION_WINDOW) // 4

# A failure to raise later, where a request waits: (exception type, message).
ErrorSpec = tuple[type[Exception], str]


class Waiter(Protocol):
    """A wake-up handle: the backend event a task waits on."""

    def set(self) -> None: ...


class H2Stream:
    """What one request's stream has received so far, filed by `H2ClientState`."""

    __slots__ = (
        "body_started",
        "chunks",
        "dropped",
        "ended",
        "error",
        "headers",
        "id",
        "interim",
        "open",
        "received",
        "reused",
        "status",
        "unacked",
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
        self.unacked = 0  # flow-controlled bytes taken but not yet handed to h2
        self.ended = False  # the server's END_STREAM arrived
        self.received = False  # any frame of the response arrived
        self.dropped = False  # the connection went away before any frame arrived
        self.error: Optional[ErrorSpec] = None
        self.open = True  # until the response is closed
        self.body_started = False  # the request body began to be consumed
        self.waiter: Optional[Waiter] = None
        self.interim: Optional[InterimCount] = None  # 1xx heads received, once any is


class H2ClientState:
    """h2's machine for one client connection, and what each of its streams received."""

    __slots__ = (
        "_handlers",
        "answered",
        "error",
        "goaway",
        "h2",
        "ids_exhausted",
        "max_streams",
        "outbox",
        "reading",
        "request_count",
        "settings_received",
        "streams",
        "unacked",
        "waiters",
        "window_waiters",
    )

    def __init__(self) -> None:
        self.h2 = new_h2_state()
        self.streams: dict[int, H2Stream] = {}
        # Everyone waiting for the reader (insertion order picks the next reader).
        self.waiters: dict[Waiter, Optional[H2Stream]] = {}
        self.window_waiters: set[H2Stream] = set()  # request bodies waiting for window
        self.reading = False  # some task holds the reader role
        # Bytes taken from h2 but not yet written, in h2's order.
        self.outbox = bytearray()
        self.error: Optional[ErrorSpec] = None  # the connection failed
        self.settings_received = False
        self.goaway: Optional[tuple[int, str]] = None  # (last_stream_id, error name)
        self.ids_exhausted = False
        self.max_streams: int = DEFAULT_MAX_STREAMS
        self.request_count = 0  # streams opened
        self.answered = 0  # responses received in full
        self.unacked = 0  # the sum of the open streams' `unacked`
        self._handlers: dict[type[Any], Callable[[Any], None]] = self._event_handlers()

    # ---- sending ---------------------------------------------------------------------

    def initiate(self) -> None:
        """Queue the connection preface, our SETTINGS and the larger connection window."""
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(CONNECTION_WINDOW - DEFAULT_WINDOW)

    def open_stream(
        self, headers: list[tuple[bytes, bytes]], has_body: bool, write_timeout: Optional[float]
    ) -> H2Stream:
        """Queue HEADERS on a new stream, ending it unless a body follows."""
        import h2.exceptions

        h2_state = self.h2
        try:
            stream_id = h2_state.get_next_available_stream_id()
        except h2.exceptions.NoAvailableStreamIDError:
            self.ids_exhausted = True
            raise ConnectionNotAvailable("HTTP/2 connection has used all stream ids") from None
        try:
            h2_state.send_headers(stream_id, headers, end_stream=not has_body)
        except h2.exceptions.TooManyStreamsError:
            raise ConnectionNotAvailable(
                "the server's MAX_CONCURRENT_STREAMS allows no more streams now"
            ) from None
        except h2.exceptions.ProtocolError as exc:
            raise LocalProtocolError(f"Invalid HTTP/2 request headers: {exc}") from exc
        stream = H2Stream(stream_id, write_timeout, self.answered > 0)
        self.streams[stream_id] = stream
        self.request_count += 1
        return stream

    def send_data(self, stream: H2Stream, chunk: bytes, offset: int) -> Optional[int]:
        """Queue DATA frames of `chunk[offset:]` as far as the flow-control windows
        allow; return the offset reached, or None once the body is no longer wanted
        (the server answered in full, or closed the stream). Raises a filed failure."""
        import h2.exceptions

        if self.body_unwanted(stream):
            return None
        h2_state = self.h2
        size = len(chunk)
        try:
            window = h2_state.local_flow_control_window(stream.id)
            while window > 0 and offset < size:
                n = min(window, h2_state.max_outbound_frame_size, size - offset)
                h2_state.send_data(stream.id, chunk[offset : offset + n])
                offset += n
                window -= n
        except h2.exceptions.StreamClosedError:
            # The server closed the stream (with or without an answer).
            return None
        return offset

    def end_body(self, stream: H2Stream) -> bool:
        """Queue END_STREAM after the request body; False if it is no longer wanted."""
        import h2.exceptions

        if self.body_unwanted(stream):
            return False
        try:
            self.h2.end_stream(stream.id)
        except h2.exceptions.StreamClosedError:
            return False
        return True

    def body_unwanted(self, stream: H2Stream) -> bool:
        """Whether to stop sending the request body (raises a filed failure)."""
        if stream.error is not None:
            error_type, message = stream.error
            raise error_type(message)
        if self.error is not None:
            error_type, message = self.error
            raise error_type(message)
        # A server that already sent its whole answer does not need the rest.
        return stream.ended

    def window_open(self, stream: H2Stream) -> bool:
        """Whether a request body waiting for flow-control window may go on (there is
        window now, or nothing more will be sent)."""
        import h2.exceptions

        if stream.error is not None or stream.ended or self.error is not None:
            return True
        try:
            return self.h2.local_flow_control_window(stream.id) > 0
        except h2.exceptions.StreamClosedError:
            return True

    def collect(self) -> bool:
        """Move what h2 queued to the outbox; is there anything to send?"""
        data = self.h2.data_to_send()
        if data:
            self.outbox += data
        return bool(self.outbox)

    def take_outbox(self) -> bytes:
        """Everything collected so far, removed from the outbox."""
        data = bytes(self.outbox)
        self.outbox.clear()
        return data

    # ---- the response side -------------------------------------------------------------

    def next_chunk(self, stream: H2Stream) -> tuple[Optional[bytes], bool]:
        """The next piece of the response body (None at its end), acknowledged; and
        whether that queued a WINDOW_UPDATE to send. Raises why the stream failed."""
        if not stream.chunks:
            if stream.ended:
                return None, False
            self.raise_for(stream)
        data, flow_controlled = stream.chunks.popleft()
        if flow_controlled and self.error is None:
            stream.unacked += flow_controlled
            self.unacked += flow_controlled
            if self.unacked >= ACK_BATCH:
                return data, self.acknowledge_taken()
        return data, False

    def acknowledge_taken(self) -> bool:
        """Hand h2 the data taken from every stream; whether frames are queued."""
        acknowledge = self.h2.acknowledge_received_data
        for stream in self.streams.values():
            if stream.unacked:
                acknowledge(stream.unacked, stream.id)
                stream.unacked = 0
        self.unacked = 0
        return self.collect()

    def raise_for(self, stream: H2Stream) -> NoReturn:
        """Raise why `stream` cannot get what it waits for."""
        error = stream.error or self.error
        if error is None:
            raise RemoteProtocolError(f"HTTP/2 stream {stream.id} ended unexpectedly")
        error_type, message = error
        raise error_type(message)

    def close_stream(self, stream: H2Stream) -> bool:
        """The response is done with: forget the stream, reset it (RST_STREAM CANCEL)
        and hand back the window its unread data took. Whether frames are queued."""
        import h2.errors
        import h2.exceptions

        if not stream.open:
            return False
        stream.open = False
        self.streams.pop(stream.id, None)
        self.window_waiters.discard(stream)
        if stream.waiter is not None:
            self.waiters.pop(stream.waiter, None)
            stream.waiter = None
        unread = sum(length for _, length in stream.chunks)
        stream.chunks.clear()
        taken, stream.unacked = stream.unacked, 0
        self.unacked -= taken
        if self.error is not None:
            return False
        if taken:
            # Taken data counts as read: acknowledged as `next_chunk()` would have.
            self.h2.acknowledge_received_data(taken, stream.id)
        if self.goaway is not None:
            # After GOAWAY the server finishes the stream on its own; some servers
            # (h2-based ones) treat any frame after their GOAWAY as an error.
            return self.collect()
        try:
            if unread:
                self.h2.acknowledge_received_data(unread, stream.id)
            self.h2.reset_stream(stream.id, h2.errors.ErrorCodes.CANCEL)
        except h2.exceptions.ProtocolError:
            pass  # already closed on both sides, or by the server
        return self.collect()

    # ---- who waits for what ------------------------------------------------------------

    def park(self, waiter: Waiter, stream: Optional[H2Stream]) -> None:
        """Register `waiter` as waiting for news of `stream` (None: of the connection)."""
        self.waiters[waiter] = stream
        if stream is not None:
            stream.waiter = waiter

    def unpark(self, waiter: Waiter, stream: Optional[H2Stream]) -> None:
        self.waiters.pop(waiter, None)
        if stream is not None and stream.waiter is waiter:
            stream.waiter = None

    def hand_over(self) -> None:
        """If nobody reads, wake the first waiter to take the reader role."""
        if self.reading or not self.waiters:
            return
        waiter = next(iter(self.waiters))
        stream = self.waiters.pop(waiter)
        if stream is not None and stream.waiter is waiter:
            stream.waiter = None
        waiter.set()

    def wake(self, stream: H2Stream) -> None:
        waiter = stream.waiter
        if waiter is not None:
            stream.waiter = None
            self.waiters.pop(waiter, None)
            waiter.set()

    def wake_unbound(self) -> None:
        """Wake the waits that are for the connection rather than for a stream."""
        for waiter, stream in list(self.waiters.items()):
            if stream is None:
                del self.waiters[waiter]
                waiter.set()

    def wake_all(self) -> None:
        waiters = self.waiters
        self.waiters = {}
        for waiter, stream in waiters.items():
            if stream is not None:
                stream.waiter = None
            waiter.set()

    # ---- receiving -------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Feed `data` (b"" at EOF) to h2 and file the events."""
        import h2.exceptions

        if not data:
            self.fail_disconnected()
            return
        # Queued frames are moved out first: a GOAWAY makes h2 drop its outgoing buffer.
        self.collect()
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self.fail(RemoteProtocolError, f"Invalid HTTP/2 data from the server: {exc}")
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
        stream = self.streams.get(event.stream_id)
        if stream is None or stream.error is not None:
            return  # gone, or failed already (by its interim responses)
        stream.status, stream.headers = response_head(event.headers)
        stream.received = True
        self.wake(stream)

    def _on_informational(self, event: Any) -> None:
        # 1xx heads and trailers are not passed on; they do show the server is answering.
        stream = self.streams.get(event.stream_id)
        if stream is None:
            return
        stream.received = True
        if stream.headers is not None or stream.error is not None:
            return  # trailers
        if stream.interim is None:
            stream.interim = InterimCount()
        status, headers = response_head(event.headers)
        too_many = stream.interim.add(status, headers)
        if too_many is not None:
            # Failing the stream makes the request raise; closing it resets the stream.
            stream.error = (RemoteProtocolError, too_many)
            self.wake(stream)

    def _on_data(self, event: h2.events.DataReceived) -> None:
        stream_id: int = event.stream_id
        length: int = event.flow_controlled_length or 0
        stream = self.streams.get(stream_id)
        if stream is None:
            # Nobody will read it: hand the window straight back (unless going away).
            if length and self.goaway is None:
                self.h2.acknowledge_received_data(length, stream_id)
            return
        stream.chunks.append((bytes(event.data or b""), length))
        stream.received = True
        self.wake(stream)

    def _on_stream_ended(self, event: h2.events.StreamEnded) -> None:
        stream = self.streams.get(event.stream_id)
        if stream is not None:
            stream.ended = True
            self.answered += 1
            self.wake(stream)

    def _on_stream_reset(self, event: h2.events.StreamReset) -> None:
        from h2.errors import ErrorCodes

        stream = self.streams.get(event.stream_id)
        if stream is None or stream.ended:
            return  # a reset after a complete answer (e.g. NO_ERROR) changes nothing
        code = event.error_code
        if code == ErrorCodes.REFUSED_STREAM and not stream.received:
            # RFC 9113 8.7: a refused stream was not processed; safe to send again.
            stream.error = (ConnectionNotAvailable, f"server refused stream {stream.id}")
        else:
            stream.error = (
                RemoteProtocolError,
                f"Server reset HTTP/2 stream {stream.id}: {error_name(code)}",
            )
        self.window_waiters.discard(stream)
        self.wake(stream)

    def _on_window_updated(self, event: h2.events.WindowUpdated) -> None:
        if event.stream_id:
            stream = self.streams.get(event.stream_id)
            if stream is not None and stream in self.window_waiters:
                self.wake(stream)
        else:
            for stream in self.window_waiters:
                self.wake(stream)

    def _on_settings(self, event: h2.events.RemoteSettingsChanged) -> None:
        from h2.settings import SettingCodes

        self.settings_received = True
        # Absent from the SETTINGS means unlimited: h2 then reports its own large default.
        self.max_streams = self.h2.remote_settings.max_concurrent_streams
        if SettingCodes.INITIAL_WINDOW_SIZE in event.changed_settings:
            for stream in self.window_waiters:
                self.wake(stream)
        self.wake_unbound()  # the start-up wait

    def _on_goaway(self, event: h2.events.ConnectionTerminated) -> None:
        last_stream_id: int = event.last_stream_id or 0
        name = error_name(event.error_code or 0)
        if self.goaway is not None:
            last_stream_id = min(last_stream_id, self.goaway[0])
        self.goaway = (last_stream_id, name)
        for stream in self.streams.values():
            if stream.id > last_stream_id and not stream.ended and stream.error is None:
                stream.error = (
                    ConnectionNotAvailable,
                    f"stream {stream.id} not processed: GOAWAY ({name}, "
                    f"last_stream_id={last_stream_id})",
                )
        self.wake_all()

    # ---- failing ---------------------------------------------------------------------

    def fail_disconnected(self) -> None:
        """The server closed the connection: fail what still waits, naming the cause."""
        if self.goaway is not None:
            last_stream_id, name = self.goaway
            reason = f"after GOAWAY ({name}, last_stream_id={last_stream_id})"
        else:
            reason = "without GOAWAY"
        for stream in self.streams.values():
            if stream.ended or stream.error is not None:
                continue
            if stream.received:
                message = f"Server disconnected {reason} before the response was complete."
            else:
                message = f"Server disconnected {reason} without sending a response."
                stream.dropped = True
            stream.error = (RemoteProtocolError, message)
        self.fail(RemoteProtocolError, f"Server disconnected the HTTP/2 connection {reason}.")

    def fail(self, error_type: type[Exception], message: str, *, broken: bool = False) -> None:
        """The connection is unusable; fail the waiting streams.

        `broken`: the connection itself broke (not the server's protocol, not our close),
        so streams that had no answer yet were dropped rather than refused."""
        if self.error is None:
            self.error = (error_type, message)
        for stream in self.streams.values():
            if not stream.ended and stream.error is None:
                stream.error = (error_type, message)
                stream.dropped = broken and not stream.received
        self.window_waiters.clear()
        self.wake_all()
