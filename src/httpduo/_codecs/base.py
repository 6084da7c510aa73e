"""The HTTP/1.1 codec interface and the events it produces.

Rules:
- A codec is a state machine for ONE connection, client side. It never performs I/O.
- `encode_*` turn the request into bytes to write; `feed` takes bytes read (b"" for
  EOF) and `next_event` hands back, in order: zero or more informational heads
  (1xx, `ResponseHead.status_code < 200`), one final `ResponseHead`, body `bytes`
  chunks, then `END`. When more input is needed it returns `NEED_DATA`.
- Errors from the peer raise `RemoteProtocolError` with the parser's reason; misuse by
  us raises `LocalProtocolError`. After an error the codec is unusable.
- `reusable()` is the keep-alive verdict once `END` was seen; `start_next_cycle()`
  resets the codec for the next request on the same connection.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Final, Optional, Union

__all__ = [
    "END",
    "MAX_INTERIM_BYTES",
    "MAX_INTERIM_RESPONSES",
    "NEED_DATA",
    "CodecEvent",
    "HTTP11Codec",
    "InterimCount",
    "ResponseHead",
]

# Interim (1xx) responses one request accepts before its final one: a few 100 Continue,
# 103 Early Hints or 102 Processing are normal; a server that keeps sending them is
# stalling or attacking, and would otherwise hold the request until its read timeout.
MAX_INTERIM_RESPONSES: Final = 100
MAX_INTERIM_BYTES: Final = 256 * 1024


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NEED_DATA: Final = _Sentinel("NEED_DATA")
END: Final = _Sentinel("END")


class ResponseHead:
    """A parsed response status line and header block."""

    __slots__ = ("headers", "http_version", "reason", "status_code")

    def __init__(
        self,
        status_code: int,
        reason: bytes,
        http_version: bytes,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        self.status_code = status_code
        self.reason = reason
        self.http_version = http_version
        self.headers = headers

    def __repr__(self) -> str:
        return f"<ResponseHead {self.status_code} {self.reason!r} {self.http_version!r}>"


CodecEvent = Union[ResponseHead, bytes, _Sentinel]


class InterimCount:
    """Counts one request's interim responses against the caps (HTTP/1.1 and HTTP/2)."""

    __slots__ = ("count", "size")

    def __init__(self) -> None:
        self.count = 0
        self.size = 0

    def add(self, status_code: int, headers: Sequence[tuple[bytes, bytes]]) -> Optional[str]:
        """Count one interim head; the reason to give up on the request, if past a cap."""
        self.count += 1
        # The head's size as sent, near enough: status line, and "name: value\r\n" each.
        self.size += 16 + sum(len(name) + len(value) + 4 for name, value in headers)
        if self.count > MAX_INTERIM_RESPONSES:
            return (
                f"The server sent more than {MAX_INTERIM_RESPONSES} interim (1xx) responses "
                f"before its final response (the last was {status_code})."
            )
        if self.size > MAX_INTERIM_BYTES:
            return (
                f"The server sent more than {MAX_INTERIM_BYTES} bytes of interim (1xx) "
                f"response heads before its final response (the last was {status_code})."
            )
        return None


class HTTP11Codec(abc.ABC):
    """One client-side HTTP/1.1 connection's protocol state."""

    name: str = "abstract"

    @abc.abstractmethod
    def encode_request_head(
        self, method: bytes, target: bytes, headers: Sequence[tuple[bytes, bytes, bytes]]
    ) -> bytes:
        """Serialise the request line and headers; framing comes from the headers.

        `headers` are `Headers._list` entries: (name, lower-cased name, value), validated.
        """

    @abc.abstractmethod
    def encode_body(self, data: bytes) -> bytes:
        """Frame one chunk of request body (chunked encoding when the head asked)."""

    @abc.abstractmethod
    def encode_end(self) -> bytes:
        """Finish the request body (the last-chunk for chunked encoding)."""

    @abc.abstractmethod
    def feed(self, data: bytes) -> None:
        """Hand over bytes read from the network; b"" means the peer closed."""

    @abc.abstractmethod
    def next_event(self) -> CodecEvent:
        """The next response event, or `NEED_DATA`."""

    @abc.abstractmethod
    def reusable(self) -> bool:
        """Whether the connection may carry another request (after `END`)."""

    @abc.abstractmethod
    def start_next_cycle(self) -> None:
        """Reset for the next request/response on the same connection."""

    @abc.abstractmethod
    def trailing_data(self) -> bytes:
        """Bytes received after the response ended: after a 101 or a 2xx answer to
        CONNECT, the first bytes of the protocol that follows."""
