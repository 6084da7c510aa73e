"""A strict HTTP/1.1 client codec on llhttp (`httptools`, the `speedups` extra).

Rules:
- llhttp parses every response head (status line and header block) in its strict mode;
  two leniencies are on, both to accept what h11 accepts: bare LF line endings and any
  `HTTP/d.d` version (the version only decides keep-alive).
- Bodies are framed here, with h11's rules. httptools cannot report where inside the fed
  bytes a message ended, nor skip the body llhttp expects after a HEAD, a 2xx CONNECT or
  a 1xx carrying Content-Length; so each head is delimited here (up to the first empty
  line, `\\n\\r?\\n` as in h11), fed whole to a fresh parser, and the body is read by
  Content-Length, chunked coding (h11's chunk grammar, CRLF after each chunk enforced,
  trailers parsed by llhttp like a head) or connection close.
- Checks added to llhttp's: only `Transfer-Encoding: chunked` (once), and never together
  with Content-Length; status codes of at least 100; only the `HTTP/` protocol; no NUL,
  VT or FF in the reason phrase. As h11 does, identical Content-Length values are merged
  and obs-folds unfolded (repairs tried only once llhttp has refused a head). Unlike h11,
  control characters are refused in header and trailer values (llhttp's rule, RFC 9110
  section 5.5) and in chunk extensions.
- Keep-alive, HEAD, 204, 304, 1xx, 101 Upgrade and CONNECT follow h11's state machine,
  so `reusable()` gives h11's verdict; bytes past the end of a response, or EOF, make
  the connection not reusable. After a 101 or a 2xx answer to CONNECT the message ends
  with its head and `trailing_data()` returns the bytes that followed.
- Errors are worded like the h11 codec's: "Malformed response from server: ...",
  "Server disconnected without sending a response.", "Server disconnected before the
  response was complete: ..."; requests h11 would refuse raise `LocalProtocolError`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, Optional, Union

import httptools

from httpduo._models._exceptions import LocalProtocolError, RemoteProtocolError

from .base import END, NEED_DATA, CodecEvent, HTTP11Codec, ResponseHead
from .h11 import MAX_RESPONSE_HEAD_SIZE
from .serialize import CHUNKED, LAST_CHUNK, encode_chunk, serialize_request_head

__all__ = ["LLHTTPCodec"]

if not hasattr(httptools.HttpResponseParser, "set_dangerous_leniencies"):
    raise ImportError(
        "httpduo's llhttp codec needs httptools >= 0.6.4, found "
        + getattr(httptools, "__version__", "an older version")
    )

_HttpResponseParser: Final = httptools.HttpResponseParser
_HttpParserError: Final = httptools.HttpParserError
_HttpParserUpgrade: Final = httptools.HttpParserUpgrade

# The end of a head: the first empty line, CRLF or bare LF (h11's rule).
_HEAD_END: Final = re.compile(rb"\n\r?\n").search
_OBS_FOLD: Final = re.compile(rb"\r?\n[ \t]+")
_BAD_REASON: Final = re.compile(rb"[\x00\x0b\x0c]").search
# h11's chunk-size line, its extension limited to visible characters, space and tab.
_CHUNK_HEADER: Final = re.compile(rb"([0-9A-Fa-f]{1,20})(?:;[\t\x20-\x7e\x80-\xff]*)?[ \t]*\r\n")
_CONTENT_LENGTH_LINE: Final = re.compile(rb"^content-length:[ \t]*([^\r\n]*)\r?\n", re.I | re.M)
_TRAILER_PREFIX: Final = b"HTTP/1.1 200 OK\r\n"
_VERSIONS: Final = {"1.1": b"HTTP/1.1", "1.0": b"HTTP/1.0"}

# Response states.
_HEAD, _BODY_LENGTH, _BODY_CHUNKED, _BODY_CLOSE, _END_PENDING, _DONE, _SWITCHED, _ERROR = range(8)
# Request states.
_IDLE, _SEND_BODY, _SENT, _SEND_ERROR = range(4)


class _HeadError(Exception):
    """A head llhttp or our checks refused; the message says why."""


class _HeadReader:
    """The llhttp callbacks for one head, and the facts the codec needs from the last
    head parsed: `content_length`, `chunked` and `keep_alive`."""

    __slots__ = (
        "chunked",
        "close",
        "complete",
        "content_length",
        "headers",
        "keep_alive",
        "problem",
        "reason",
    )

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.reason = b""
        self.complete = False
        self.problem: Optional[str] = None
        self.content_length: Optional[int] = None
        self.chunked = False
        self.close = False
        self.keep_alive = True

    # -- llhttp callbacks (httptools looks them up by name) --------------------------

    def on_status(self, reason: bytes) -> None:
        self.reason = reason

    def on_header(self, name: bytes, value: bytes) -> None:
        value = value.rstrip(b" \t")  # llhttp drops leading whitespace only
        # Three names matter here; their lengths rule out almost every other name.
        size = len(name)
        if size == 14 or size == 17 or size == 10:
            lower = name.lower()
            if lower == b"content-length":
                self.content_length = int(value)  # digits only: llhttp checked
            elif lower == b"transfer-encoding":
                value = value.lower()
                if self.chunked:
                    self.problem = self.problem or "multiple Transfer-Encoding headers"
                elif value != b"chunked":
                    self.problem = self.problem or "Only Transfer-Encoding: chunked is supported"
                self.chunked = True
            elif lower == b"connection" and b"close" in value.lower():
                values = [item.strip() for item in value.lower().split(b",")]
                self.close = self.close or b"close" in values
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.complete = True

    # -- parsing ---------------------------------------------------------------------

    def parse(self, head: bytes) -> ResponseHead:
        """Parse a complete head (status line to empty line); raise `_HeadError`."""
        if not head.startswith(b"HTTP/"):
            status_line = head[: head.find(b"\n") + 1]
            raise _HeadError(f"illegal status line: {status_line!r}")
        try:
            return self._parse(head)
        except _HeadError:
            # llhttp refuses obs-folds and repeated Content-Length headers; h11 unfolds
            # the former and merges equal values of the latter. Repair and try again,
            # only on this rare path.
            repaired = head
            if b"\n " in head or b"\n\t" in head:
                repaired = _unfold(head)
            merged = _merge_content_lengths(repaired)
            if merged is not None:
                repaired = merged
            if repaired is head:
                raise
            return self._parse(repaired)

    def _parse(self, head: bytes) -> ResponseHead:
        self.headers = []
        self.reason = b""
        self.complete = False
        self.problem = None
        self.content_length = None
        self.chunked = False
        self.close = False
        parser = _HttpResponseParser(self)
        parser.set_dangerous_leniencies(lenient_optional_cr_before_lf=True, lenient_version=True)
        try:
            parser.feed_data(head)
        except _HttpParserUpgrade:
            pass  # a 101 with Upgrade headers: llhttp pauses after the head
        except _HttpParserError as exc:
            # Past the head, only llhttp's pause after a 101 can end up here.
            if not self.complete:
                raise _HeadError(str(exc) or type(exc).__name__) from None
        if not self.complete:
            raise _HeadError("incomplete response head")  # not reached: `head` is whole
        if self.problem is not None:
            raise _HeadError(self.problem)
        if self.chunked and self.content_length is not None:  # llhttp refuses it too
            raise _HeadError("both Content-Length and Transfer-Encoding")
        status = parser.get_status_code()
        if status < 100:
            raise _HeadError(f"status code {status:03d} is out of range (100-999)")
        reason = self.reason
        if _BAD_REASON(reason) is not None:
            raise _HeadError(f"illegal reason phrase: {reason!r}")
        version = parser.get_http_version()
        # h11: keep-alive needs HTTP/1.1 or later and no "close" in Connection.
        self.keep_alive = not self.close and version >= "1.1"
        return ResponseHead(
            status,
            reason,
            _VERSIONS.get(version) or b"HTTP/" + version.encode("ascii"),
            self.headers,
        )


def _unfold(head: bytes) -> bytes:
    """Replace each obs-fold with one space, as h11 does (RFC 9112 section 5.2)."""
    first = head.find(b"\n") + 1
    if head[first : first + 1] in (b" ", b"\t"):
        raise _HeadError("continuation line at start of headers")
    return _OBS_FOLD.sub(b" ", head)


def _merge_content_lengths(head: bytes) -> Optional[bytes]:
    """`head` with its Content-Length headers merged into the first, or None if there
    is nothing to merge; raise `_HeadError` when the values differ (h11's rules)."""
    matches = list(_CONTENT_LENGTH_LINE.finditer(head))
    values = {
        item.strip() for match in matches for item in match.group(1).rstrip(b" \t").split(b",")
    }
    if len(matches) < 2 and not any(b"," in match.group(1) for match in matches):
        return None
    if len(values) != 1:
        raise _HeadError("conflicting Content-Length headers")
    value = values.pop()
    if not value.isdigit():
        raise _HeadError("bad Content-Length")
    first = matches[0]
    name_end = first.start() + len(b"Content-Length:")  # the name keeps its casing
    parts = [head[:name_end], b" ", value, b"\r\n"]
    position = first.end()
    for match in matches[1:]:
        parts.append(head[position : match.start()])
        position = match.end()
    parts.append(head[position:])
    return b"".join(parts)


class LLHTTPCodec(HTTP11Codec):
    """HTTP/1.1 client codec: llhttp parses heads, bodies are framed as h11 frames them."""

    __slots__ = (
        "_buf",
        "_chunk_footer",
        "_chunk_left",
        "_eof",
        "_error",
        "_expected",
        "_in_trailers",
        "_keep_alive",
        "_method",
        "_pos",
        "_reader",
        "_received",
        "_remaining",
        "_request_keep_alive",
        "_scan",
        "_send_left",
        "_send_state",
        "_state",
        "_upgrade",
    )
    name = "llhttp"

    def __init__(self) -> None:
        self._reader = _HeadReader()
        # Request side.
        self._send_state = _IDLE
        self._send_left = 0  # body bytes still to send, or CHUNKED
        self._method = b""
        self._request_keep_alive = True
        self._upgrade = False  # the request proposed an Upgrade
        # Response side: unread input is self._buf[self._pos:]; bytes as read, or a
        # bytearray while a partial head or line collects bytes (appending to bytes
        # again and again would copy quadratically).
        self._buf: Union[bytes, bytearray] = b""
        self._pos = 0
        # Where the pending search (end of a head, a chunk-size line or the trailers)
        # resumes, so that bytes trickling in are not scanned again and again.
        self._scan = 0
        self._eof = False
        self._received = False  # any byte of the current response yet
        self._state = _HEAD
        self._keep_alive = True
        self._remaining = 0  # Content-Length bytes still to read
        self._expected = 0
        self._chunk_left = 0  # bytes of the current chunk still to read
        self._chunk_footer = b""  # the part of the CRLF after a chunk still to read
        self._in_trailers = False
        self._error = ""

    # -- request -----------------------------------------------------------------------

    def encode_request_head(
        self, method: bytes, target: bytes, headers: Sequence[tuple[bytes, bytes, bytes]]
    ) -> bytes:
        if self._send_state != _IDLE:
            raise LocalProtocolError("Invalid request: a request was already sent")
        try:
            head = serialize_request_head(method, target, headers)
        except LocalProtocolError:
            self._send_state = _SEND_ERROR
            raise
        self._method = method
        self._send_left = head.body_length
        self._request_keep_alive = head.keep_alive
        self._upgrade = head.upgrade
        self._send_state = _SEND_BODY
        return head.data

    def encode_body(self, data: bytes) -> bytes:
        if self._send_state != _SEND_BODY:
            raise LocalProtocolError("Invalid request body: no request body is being sent")
        left = self._send_left
        if left == CHUNKED:
            return encode_chunk(data)
        left -= len(data)
        if left < 0:
            self._send_state = _SEND_ERROR
            raise LocalProtocolError(
                "Invalid request body: Too much data for declared Content-Length"
            )
        self._send_left = left
        return data

    def encode_end(self) -> bytes:
        if self._send_state != _SEND_BODY:
            raise LocalProtocolError("Invalid request body: no request body is being sent")
        left = self._send_left
        if left == CHUNKED:
            self._send_state = _SENT
            return LAST_CHUNK
        if left:
            self._send_state = _SEND_ERROR
            raise LocalProtocolError(
                "Invalid request body: Too little data for declared Content-Length"
            )
        self._send_state = _SENT
        return b""

    # -- response ----------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if not data:
            self._eof = True
            return
        if self._eof:
            raise RemoteProtocolError(
                "Cannot read from the connection: received close, then received more data?"
            )
        self._received = True
        buf = self._buf
        pos = self._pos
        if pos == len(buf):
            self._buf = data if type(data) is bytes else bytes(data)
            self._scan = 0
        else:
            if isinstance(buf, bytearray):
                del buf[:pos]
            else:
                buf = bytearray(memoryview(buf)[pos:])
            buf += data
            self._buf = buf
            self._scan = max(0, self._scan - pos)
        self._pos = 0

    def next_event(self) -> CodecEvent:
        state = self._state
        if state == _BODY_LENGTH:
            return self._next_length()
        if state == _HEAD:
            return self._next_head()
        if state == _END_PENDING:
            self._state = _DONE
            return END
        if state == _BODY_CHUNKED:
            return self._next_chunked()
        if state == _BODY_CLOSE:
            return self._next_until_close()
        if state == _SWITCHED:
            return END
        if state == _DONE:
            if self._pos < len(self._buf):
                raise self._fail(
                    "Unexpected data from server after the response: "
                    f"{bytes(self._buf[self._pos : self._pos + 20])!r}"
                )
            if self._eof:
                raise self._fail("Server disconnected without sending a response.")
            return NEED_DATA
        raise RemoteProtocolError(self._error)

    def _next_head(self) -> CodecEvent:
        buf = self._buf
        pos = self._pos
        if pos == len(buf):
            if self._eof:
                raise self._disconnected("peer unexpectedly closed connection")
            return NEED_DATA
        # A head starts with "HTTP/": a control byte or space first (TLS bytes, a stray
        # empty line) is refused at once rather than waited upon.
        if buf[pos] < 0x21:
            raise self._malformed(f"illegal status line: {bytes(buf[pos : pos + 20])!r}")
        match = _HEAD_END(buf, max(pos, self._scan))
        if match is None:
            if len(buf) - pos > MAX_RESPONSE_HEAD_SIZE:
                raise self._malformed(f"response head larger than {MAX_RESPONSE_HEAD_SIZE} bytes")
            if self._eof:
                raise self._disconnected("peer unexpectedly closed connection")
            self._scan = max(pos, len(buf) - 2)
            return NEED_DATA
        end = match.end()
        self._pos = self._scan = end
        reader = self._reader
        head = buf[pos:end]
        try:
            event = reader.parse(head if type(head) is bytes else bytes(head))
        except _HeadError as exc:
            raise self._malformed(str(exc)) from None
        status = event.status_code
        if status < 200:
            if status == 101:
                if not self._upgrade:
                    raise self._malformed("101 Switching Protocols without an Upgrade request")
                self._state = _SWITCHED
            return event  # other 1xx: the final response follows
        self._keep_alive = reader.keep_alive
        method = self._method
        if method == b"CONNECT" and status < 300:
            self._state = _SWITCHED
        elif status == 204 or status == 304 or method == b"HEAD":
            self._state = _END_PENDING
        elif reader.chunked:
            self._state = _BODY_CHUNKED
            self._chunk_left = 0
            self._chunk_footer = b""
            self._in_trailers = False
        elif reader.content_length is not None:
            self._remaining = self._expected = reader.content_length
            self._state = _BODY_LENGTH if reader.content_length else _END_PENDING
        else:
            self._state = _BODY_CLOSE
        return event

    def _next_length(self) -> CodecEvent:
        buf = self._buf
        pos = self._pos
        available = len(buf) - pos
        if not available:
            if self._eof:
                raise self._disconnected(
                    "peer closed connection without sending complete message body "
                    f"(received {self._expected - self._remaining} bytes, "
                    f"expected {self._expected})"
                )
            return NEED_DATA
        remaining = self._remaining
        if available <= remaining:
            data = buf if not pos else buf[pos:]
            self._pos = len(buf)
            remaining -= available
        else:
            data = buf[pos : pos + remaining]
            self._pos = pos + remaining
            remaining = 0
        self._remaining = remaining
        if not remaining:
            self._state = _END_PENDING
        return data if type(data) is bytes else bytes(data)

    def _next_until_close(self) -> CodecEvent:
        buf = self._buf
        pos = self._pos
        if pos < len(buf):
            self._pos = len(buf)
            data = buf if not pos else buf[pos:]
            return data if type(data) is bytes else bytes(data)
        if self._eof:
            self._state = _DONE
            return END
        return NEED_DATA

    def _next_chunked(self) -> CodecEvent:
        buf = self._buf
        while True:
            pos = self._pos
            available = len(buf) - pos
            left = self._chunk_left
            if left:
                if not available:
                    return self._need_chunked_data()
                if available <= left:
                    data = buf if not pos else buf[pos:]
                    self._pos = len(buf)
                    left -= available
                else:
                    data = buf[pos : pos + left]
                    self._pos = pos + left
                    left = 0
                self._chunk_left = left
                if not left:
                    self._chunk_footer = b"\r\n"
                return data if type(data) is bytes else bytes(data)
            footer = self._chunk_footer
            if footer:
                if len(footer) == 2 and buf.startswith(b"\r\n", pos):
                    self._pos = pos + 2
                    self._chunk_footer = b""
                    continue
                if not available:
                    return self._need_chunked_data()
                got = bytes(buf[pos : pos + len(footer)])
                if not footer.startswith(got):
                    raise self._malformed(f"malformed chunk footer: {got!r} (expected b'\\r\\n')")
                self._pos = pos + len(got)
                self._chunk_footer = footer[len(got) :]
                continue
            if self._in_trailers:
                return self._next_trailers()
            end = buf.find(b"\r\n", max(pos, self._scan))
            if end < 0:
                if available > MAX_RESPONSE_HEAD_SIZE:
                    raise self._malformed("chunk header line too long")
                self._scan = max(pos, len(buf) - 1)
                return self._need_chunked_data()
            match = _CHUNK_HEADER.fullmatch(buf, pos, end + 2)
            if match is None:
                line = bytes(buf[pos : end + 2])
                raise self._malformed(f"illegal chunk header: {line!r}")
            self._pos = end + 2
            size = int(match.group(1), 16)
            if size:
                self._chunk_left = size
            else:
                self._in_trailers = True

    def _next_trailers(self) -> CodecEvent:
        buf = self._buf
        pos = self._pos
        if buf.startswith(b"\r\n", pos):
            self._pos = pos + 2
        elif buf.startswith(b"\n", pos):
            self._pos = pos + 1
        else:
            match = _HEAD_END(buf, max(pos, self._scan))
            if match is None:
                if len(buf) - pos > MAX_RESPONSE_HEAD_SIZE:
                    raise self._malformed("trailer section too long")
                self._scan = max(pos, len(buf) - 2)
                return self._need_chunked_data()
            self._pos = match.end()
            try:
                # The trailer section has a head's syntax: llhttp checks it as one.
                self._reader.parse(_TRAILER_PREFIX + buf[pos : match.end()])
            except _HeadError as exc:
                raise self._malformed(f"illegal trailer section: {exc}") from None
        self._state = _DONE
        return END

    def _need_chunked_data(self) -> CodecEvent:
        if self._eof:
            raise self._disconnected(
                "peer closed connection without sending complete message body "
                "(incomplete chunked read)"
            )
        return NEED_DATA

    # -- errors ------------------------------------------------------------------------

    def _fail(self, message: str) -> RemoteProtocolError:
        self._state = _ERROR
        self._error = message
        return RemoteProtocolError(message)

    def _malformed(self, reason: str) -> RemoteProtocolError:
        return self._fail(f"Malformed response from server: {reason}")

    def _disconnected(self, reason: str) -> RemoteProtocolError:
        if not self._received:
            return self._fail("Server disconnected without sending a response.")
        return self._fail(f"Server disconnected before the response was complete: {reason}")

    # -- connection reuse --------------------------------------------------------------

    def reusable(self) -> bool:
        return (
            self._state == _DONE
            and self._send_state == _SENT
            and self._keep_alive
            and self._request_keep_alive
            and not self._eof
            and self._pos == len(self._buf)
        )

    def trailing_data(self) -> bytes:
        """Bytes received after the response ended: after a 101 or a 2xx answer to
        CONNECT, the first bytes of the tunnelled protocol."""
        return bytes(self._buf[self._pos :])

    def start_next_cycle(self) -> None:
        if not self.reusable():
            raise LocalProtocolError("Cannot start a new request: the connection is not reusable")
        self._send_state = _IDLE
        self._method = b""
        self._upgrade = False
        self._request_keep_alive = True
        self._state = _HEAD
        self._keep_alive = True
        self._received = False
        self._buf = b""
        self._pos = self._scan = 0
