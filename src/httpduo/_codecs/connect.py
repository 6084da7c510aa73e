"""The CONNECT exchange that opens a tunnel through an HTTP proxy, sans-I/O.

Rules:
- `connect_request()` serialises `CONNECT host:port HTTP/1.1` with a Host header and
  the proxy headers (credentials included); header names and values come from
  `Headers`, which validated them.
- `ConnectReplyReader` takes the bytes read from the proxy and yields the final reply
  head (interim 1xx heads are skipped). Anything that is not an HTTP/1.x reply head, a
  head larger than `MAX_REPLY_HEAD_SIZE`, or the end of the stream before the head is
  complete raises `ProxyError` saying what the proxy sent.
- The body of a refusal is never read: the connection is closed instead. Bytes after a
  successful reply belong to the tunnel; they are handed back as `trailing_data`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, Optional

from httpduo._models._exceptions import ProxyError

__all__ = ["MAX_REPLY_HEAD_SIZE", "ConnectReply", "ConnectReplyReader", "connect_request"]

MAX_REPLY_HEAD_SIZE: Final = 64 * 1024

_STATUS_LINE: Final = re.compile(rb"HTTP/1\.[0-9] ([0-9]{3})(?: ([^\r\n]*))?")
_HEADER_LINE: Final = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\r\n]*?)[ \t]*")


def connect_request(authority: bytes, headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    """The CONNECT request head for `authority` (`host:port`, IPv6 in brackets)."""
    parts = [b"CONNECT ", authority, b" HTTP/1.1\r\nHost: ", authority, b"\r\n"]
    for name, value in headers:
        if name.lower() != b"host":
            parts += [name, b": ", value, b"\r\n"]
    parts.append(b"\r\n")
    return b"".join(parts)


class ConnectReply:
    """The proxy's answer to CONNECT: status, reason and headers."""

    __slots__ = ("headers", "reason", "status_code")

    def __init__(self, status_code: int, reason: str, headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status_code
        self.reason = reason
        self.headers = headers

    def get(self, name: bytes) -> Optional[str]:
        """The first value of header `name` (lower-case), decoded as Latin-1."""
        for key, value in self.headers:
            if key.lower() == name:
                return value.decode("latin-1")
        return None

    def __repr__(self) -> str:
        return f"<ConnectReply {self.status_code} {self.reason!r}>"


class ConnectReplyReader:
    """Accumulates the proxy's reply until its head is complete."""

    __slots__ = ("_buffer", "trailing_data")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.trailing_data = b""

    def feed(self, data: bytes) -> Optional[ConnectReply]:
        """Add bytes read from the proxy (b"" at its end); the final reply once complete."""
        if not data:
            if self._buffer:
                raise ProxyError(
                    "The proxy closed the connection in the middle of its reply to CONNECT: "
                    f"{_preview(self._buffer)}"
                )
            raise ProxyError("The proxy closed the connection without answering CONNECT")
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                self._check_partial()
                return None
            head = bytes(self._buffer[:end])
            del self._buffer[: end + 4]
            reply = _parse_head(head)
            if reply.status_code >= 200:
                self.trailing_data = bytes(self._buffer)
                return reply

    def _check_partial(self) -> None:
        # Fail early on garbage instead of waiting for a blank line that never comes.
        buffer = self._buffer
        if b"HTTP/1."[: len(buffer)] != buffer[:7]:
            raise ProxyError(
                f"The proxy sent something other than an HTTP reply to CONNECT: {_preview(buffer)}"
            )
        if len(buffer) > MAX_REPLY_HEAD_SIZE:
            raise ProxyError(
                f"The proxy's reply to CONNECT has a head over {MAX_REPLY_HEAD_SIZE} bytes"
            )


def _parse_head(head: bytes) -> ConnectReply:
    lines = head.split(b"\r\n")
    match = _STATUS_LINE.fullmatch(lines[0])
    if match is None:
        raise ProxyError(
            f"The proxy sent an invalid status line in reply to CONNECT: {_preview(lines[0])}"
        )
    headers = []
    for line in lines[1:]:
        header = _HEADER_LINE.fullmatch(line)
        if header is None:
            raise ProxyError(
                f"The proxy sent an invalid header line in reply to CONNECT: {_preview(line)}"
            )
        headers.append((header[1], header[2]))
    reason = (match[2] or b"").decode("latin-1")
    return ConnectReply(int(match[1]), reason, headers)


def _preview(data: bytes | bytearray) -> str:
    text = repr(bytes(data[:80]))
    return text if len(data) <= 80 else f"{text}... ({len(data)} bytes)"
