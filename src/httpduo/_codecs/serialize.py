"""Request serialisation for HTTP/1.1 codecs that run no h11 state machine (llhttp).

Rules:
- Header names and values arrive validated by `Headers`, as its `(name, lower-cased
  name, value)` entries (names are RFC 9110 tokens, values hold no CR, LF or NUL): they
  are written as given, never re-checked with a regex or lower-cased again. The method
  is checked once per distinct method (a bounded cache); the target is scanned once for
  bytes that would break the request line.
- One pass over the headers yields what the codec needs besides the bytes: the body
  framing (`Transfer-Encoding: chunked`, else `Content-Length`, else no body), whether
  the request asks to close the connection, and whether it proposes an Upgrade. The head
  is built with a single `b"".join`.
- The wire format is h11's, byte for byte (Host first, the Transfer-Encoding value
  lower-cased, identical Content-Length values merged into one), and the requests h11
  refuses raise `LocalProtocolError` with h11's reason. Header names and values are
  `Headers`' business alone on both codecs (the h11 codec hands them to h11 as already
  parsed), so both send the same header bytes.
- The h11 codec does not use this module: h11 has to see its own `Request` event to run
  its state machine (framing, keep-alive, protocol switches), so serialising here as well
  would only add work.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, NamedTuple, Optional

from httpduo._models._exceptions import LocalProtocolError

__all__ = ["CHUNKED", "LAST_CHUNK", "RequestHead", "encode_chunk", "serialize_request_head"]

CHUNKED: Final = -1  # `RequestHead.body_length` of a chunked body
LAST_CHUNK: Final = b"0\r\n\r\n"

_TOKEN: Final = re.compile(rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+").fullmatch
# The request target is one or more visible ASCII characters (h11's rule): anything else
# (a space, CR, LF, a control or non-ASCII byte) would change the request line's meaning.
_BAD_TARGET: Final = re.compile(rb"[^\x21-\x7e]").search
_MAX_CONTENT_LENGTH_DIGITS: Final = 20  # h11's limit

# The (lower-cased) names whose values decide framing, keep-alive and the Host rules.
_FRAMING_NAMES: Final = frozenset(
    (b"host", b"content-length", b"transfer-encoding", b"connection", b"upgrade")
)

_checked_methods: set[bytes] = {b"GET", b"HEAD", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS"}
_CHECKED_METHODS_MAX: Final = 64


class RequestHead(NamedTuple):
    """A serialised request head and the facts about it the codec acts on."""

    data: bytes
    body_length: int  # bytes of body to send, or CHUNKED
    keep_alive: bool  # False when the request carries `Connection: close`
    upgrade: bool  # True when the request proposes an Upgrade


def _invalid(reason: str) -> LocalProtocolError:
    return LocalProtocolError(f"Invalid request: {reason}")


def _comma_values(value: bytes) -> list[bytes]:
    return [item.strip() for item in value.lower().split(b",") if item.strip()]


def _content_length(value: bytes) -> bytes:
    """The normalised Content-Length value (h11's rules: a list of equal digit strings)."""
    if not value.isdigit():
        values = {item.strip() for item in value.split(b",")}
        if len(values) != 1:
            raise _invalid("conflicting Content-Length headers")
        value = values.pop()
        if not value.isdigit():
            raise _invalid("bad Content-Length")
    if len(value) > _MAX_CONTENT_LENGTH_DIGITS:
        raise _invalid("bad Content-Length")
    return value


def serialize_request_head(
    method: bytes, target: bytes, headers: Sequence[tuple[bytes, bytes, bytes]]
) -> RequestHead:
    """Serialise `METHOD target HTTP/1.1` and `headers`; see the module rules."""
    if method not in _checked_methods:
        if _TOKEN(method) is None:
            raise _invalid("Illegal method characters")
        if len(_checked_methods) < _CHECKED_METHODS_MAX:
            _checked_methods.add(method)
    if not target or _BAD_TARGET(target) is not None:
        raise _invalid("Illegal target characters")

    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    hosts = 0
    content_length: Optional[bytes] = None
    chunked = False
    keep_alive = True
    upgrade = False
    for name, lower, value in headers:
        if lower in _FRAMING_NAMES:
            if lower == b"host":
                hosts += 1
                if len(parts) > 4:  # h11 writes Host first
                    parts[4:4] = (name, b": ", value, b"\r\n")
                    continue
            elif lower == b"content-length":
                value = _content_length(value)
                if content_length is not None:
                    if value != content_length:
                        raise _invalid("conflicting Content-Length headers")
                    continue  # an identical repeat is merged into the first
                content_length = value
            elif lower == b"transfer-encoding":
                if chunked:
                    raise _invalid("multiple Transfer-Encoding headers")
                value = value.lower()
                if value != b"chunked":
                    raise _invalid("Only Transfer-Encoding: chunked is supported")
                chunked = True
            elif lower == b"connection":
                if b"close" in value.lower():  # rarely: only then split the list
                    keep_alive = keep_alive and b"close" not in _comma_values(value)
            elif _comma_values(value):  # upgrade
                upgrade = True
        parts += (name, b": ", value, b"\r\n")
    if hosts == 0:
        raise _invalid("Missing mandatory Host: header")
    if hosts > 1:
        raise _invalid("Found multiple Host: headers")
    parts.append(b"\r\n")

    if chunked:
        body_length = CHUNKED
    elif content_length is not None:
        body_length = int(content_length)
    else:
        body_length = 0
    return RequestHead(b"".join(parts), body_length, keep_alive, upgrade)


def encode_chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (nothing for empty data, which would end the body)."""
    if not data:
        return b""
    return b"".join((b"%x\r\n" % len(data), data, b"\r\n"))
