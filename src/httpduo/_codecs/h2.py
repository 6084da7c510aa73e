"""HTTP/2 on h2, the parts that need no connection: h2's set-up, request heads, error names.

Rules:
- h2 (the `http2` extra) is imported only once HTTP/2 is asked for (`load_h2()`, at the
  latest when an HTTP/2 connection state is created), never by `import httpduo`; without
  it that raises ImportError naming the extra.
- No I/O and no per-connection state: plain functions, shared by both trees.
- Our SETTINGS: no server push, large receive windows (STREAM_WINDOW per stream,
  CONNECTION_WINDOW in all) so a fast download is not window-bound, and response heads
  up to MAX_HEADER_LIST_SIZE, the HTTP/1.1 codec's limit.
- Request heads follow RFC 9113 8.2-8.3: pseudo-headers first, names lower-cased,
  connection-specific headers dropped (Host travels as :authority), TE only as "trailers".
- h2 ends its connection state machine on a received GOAWAY; each state made here runs
  on a copy of h2's transition table that keeps the connection open, so the streams the
  server still finishes are accepted. New streams after GOAWAY are refused by the
  connection, not by h2.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, Optional

from httpduo._models._requests import Request

if TYPE_CHECKING:
    import h2.connection

__all__ = [
    "CONNECTION_WINDOW",
    "DEFAULT_MAX_STREAMS",
    "DEFAULT_WINDOW",
    "MAX_HEADER_LIST_SIZE",
    "STREAM_WINDOW",
    "ConnectionNotAvailable",
    "error_name",
    "load_h2",
    "new_h2_state",
    "request_headers",
    "response_head",
]

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
    _cheapen_data_frame_repr()


def _raw_data_repr(data: Optional[bytes]) -> str:
    # Same text as hyperframe's: hex of the data, cut to 20 digits plus "...".
    if not data:
        return "None"
    digits = binascii.hexlify(data[:11]).decode("ascii")
    if len(digits) > 20:
        digits = digits[:20] + "..."
    return "<hex:" + digits + ">"


def _data_body_repr(frame: Any) -> str:
    # hyperframe shows the start of the serialised body: the pad-length byte (when
    # padded), the data, the zero padding. Its first 11 bytes are all the text needs.
    start = frame.serialize_padding_data() + frame.data[:11]
    if len(start) < 11 and frame.pad_length:
        start += b"\0" * min(frame.pad_length, 11)
    return _raw_data_repr(start)


def _cheapen_data_frame_repr() -> None:
    """h2 logs `repr(frame)` for every frame it receives, even with logging off, and
    hyperframe's repr of a DATA frame serialises (copies) the whole payload, then
    hex-encodes all of it, only to keep 20 digits: about 40% of an HTTP/2 download's
    CPU. Reading the first 11 bytes gives the same text; installed once, and only
    over the method and function shapes it replaces."""
    import hyperframe.frame

    current = getattr(hyperframe.frame, "_raw_data_repr", None)
    if current is not None and current is not _raw_data_repr:
        hyperframe.frame._raw_data_repr = _raw_data_repr
    data_frame = hyperframe.frame.DataFrame
    if (
        "_body_repr" not in vars(data_frame)
        and callable(getattr(data_frame, "_body_repr", None))
        and callable(getattr(data_frame, "serialize_padding_data", None))
    ):
        data_frame._body_repr = _data_body_repr  # type: ignore[method-assign,assignment]


def error_name(code: Any) -> str:
    """The RFC 9113 name of an HTTP/2 error code, e.g. "PROTOCOL_ERROR"."""
    from h2.errors import ErrorCodes

    try:
        return ErrorCodes(int(code)).name
    except ValueError:
        return f"error code {int(code)}"


# The GOAWAY-tolerant copy of h2's transition table, built once (see the module rules).
_graceful_transitions: Optional[dict[Any, Any]] = None


def new_h2_state() -> h2.connection.H2Connection:
    """A client-side h2 machine with our SETTINGS, which survives a received GOAWAY."""
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


def request_headers(request: Request) -> tuple[list[tuple[bytes, bytes]], bool]:
    """Pseudo-headers, then the request's headers lower-cased minus hop-by-hop ones; and
    whether the request has a body (Content-Length or Transfer-Encoding present)."""
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


def response_head(
    fields: Optional[Iterable[tuple[bytes, bytes]]],
) -> tuple[int, list[tuple[bytes, bytes]]]:
    """The status (0 if missing) and the regular headers of a received response head."""
    status = 0
    headers: list[tuple[bytes, bytes]] = []
    for name, value in fields or ():
        if name == b":status":
            status = int(value)
        elif not name.startswith(b":"):
            headers.append((bytes(name), bytes(value)))
    return status, headers
