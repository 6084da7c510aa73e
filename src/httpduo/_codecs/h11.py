"""The reference HTTP/1.1 codec, on h11.

h11 validates both directions strictly; its errors are mapped here, once, to
`LocalProtocolError` (ours) and `RemoteProtocolError` (the server's), keeping h11's
reason in the message.

Requests are serialised by h11 itself (not by `serialize.py`): h11 must see its own
`Request` event to run its state machine. After a 101 or a 2xx answer to CONNECT the
message ends with its head (h11 pauses; we report `END`) and `trailing_data()` hands over
the bytes that followed. A connection that saw EOF, or holds bytes the server sent past
the end of the response, is not reusable: those bytes would be read as the next answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import h11

from httpduo._models._exceptions import LocalProtocolError, RemoteProtocolError

from .base import END, NEED_DATA, CodecEvent, HTTP11Codec, ResponseHead

__all__ = ["MAX_RESPONSE_HEAD_SIZE", "H11Codec"]

# Servers sending large cookie jars or CSP headers exceed h11's 16 KiB default; beyond
# this we call the head malformed rather than buffer without bound.
MAX_RESPONSE_HEAD_SIZE: Final = 128 * 1024

_END_OF_MESSAGE: Final = h11.EndOfMessage()


class H11Codec(HTTP11Codec):
    """HTTP/1.1 client codec on the h11 state machine."""

    __slots__ = ("_conn", "_eof", "_received")
    name = "h11"

    def __init__(self) -> None:
        self._conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_RESPONSE_HEAD_SIZE)
        self._eof = False
        self._received = False  # any byte of the current response yet

    def encode_request_head(
        self, method: bytes, target: bytes, headers: Sequence[tuple[bytes, bytes, bytes]]
    ) -> bytes:
        try:
            # `Headers` has validated names and values already (see serialize.py's
            # rules): `_parsed` skips h11 re-checking each one with a regex, so both
            # codecs admit the same header bytes. h11 still checks method and target.
            pairs = [(name, value) for name, _, value in headers]
            event = h11.Request(method=method, target=target, headers=pairs, _parsed=True)
            return self._conn.send(event) or b""
        except h11.LocalProtocolError as exc:
            raise LocalProtocolError(f"Invalid request: {exc}") from exc

    def encode_body(self, data: bytes) -> bytes:
        try:
            return self._conn.send(h11.Data(data=data)) or b""
        except h11.LocalProtocolError as exc:
            raise LocalProtocolError(f"Invalid request body: {exc}") from exc

    def encode_end(self) -> bytes:
        try:
            return self._conn.send(_END_OF_MESSAGE) or b""
        except h11.LocalProtocolError as exc:
            raise LocalProtocolError(f"Invalid request body: {exc}") from exc

    def feed(self, data: bytes) -> None:
        if data:
            self._received = True
        else:
            self._eof = True
        try:
            self._conn.receive_data(data)
        except RuntimeError as exc:  # h11 refuses data after EOF or after an error
            raise RemoteProtocolError(f"Cannot read from the connection: {exc}") from exc

    def next_event(self) -> CodecEvent:
        try:
            event = self._conn.next_event()
        except h11.RemoteProtocolError as exc:
            if self._eof and not self._received:
                raise RemoteProtocolError(
                    "Server disconnected without sending a response."
                ) from exc
            if self._eof:
                raise RemoteProtocolError(
                    f"Server disconnected before the response was complete: {exc}"
                ) from exc
            raise RemoteProtocolError(f"Malformed response from server: {exc}") from exc
        if event is h11.NEED_DATA:
            return NEED_DATA
        if type(event) is h11.Data:
            return bytes(event.data)
        if type(event) is h11.Response or type(event) is h11.InformationalResponse:
            return ResponseHead(
                event.status_code,
                bytes(event.reason),
                b"HTTP/" + bytes(event.http_version),
                event.headers.raw_items(),
            )
        if type(event) is h11.EndOfMessage:
            return END
        if type(event) is h11.ConnectionClosed:
            raise RemoteProtocolError("Server disconnected without sending a response.")
        if self._conn.their_state is h11.SWITCHED_PROTOCOL:
            return END  # the rest of the stream speaks another protocol
        # PAUSED: the server sent bytes after the response we asked for ended.
        raise RemoteProtocolError(f"Unexpected data from server after the response: {event!r}")

    def reusable(self) -> bool:
        conn = self._conn
        if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
            return False
        leftover, closed = conn.trailing_data
        return not leftover and not closed

    def trailing_data(self) -> bytes:
        """Bytes received after the response ended: after a 101 or a 2xx answer to
        CONNECT, the first bytes of the tunnelled protocol."""
        return self._conn.trailing_data[0]

    def start_next_cycle(self) -> None:
        self._conn.start_next_cycle()
        self._received = False
