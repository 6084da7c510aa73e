"""httpcore's request and response models: bytes fields, byte-pair headers.

Rules:
- Fields are httpcore's: `Request.method` and the `URL` parts are `bytes` (`port` an int
  or None), headers a list of `(bytes, bytes)` pairs, bodies a `stream` iterable of bytes
  (sync, async or both), `extensions` a plain dict.
- Constructors accept what httpcore's accept (str or bytes, a mapping or a sequence of
  pairs) and reject anything else with a TypeError naming the argument.
- In-memory bodies use httpduo's own `ByteStream`, so a body crossing the facade in
  either direction is recognised without copying.
- No I/O here: reading a body means iterating its stream, which the caller provides.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any, Optional, Union
from urllib.parse import urlparse

from httpduo._models._streams import ByteStream

__all__ = [
    "URL",
    "ByteStream",
    "HeaderTypes",
    "Origin",
    "Request",
    "Response",
    "build_request",
    "enforce_bytes",
    "enforce_headers",
    "enforce_stream",
    "enforce_url",
    "include_request_headers",
]

HeadersAsSequence = Sequence[tuple[Union[bytes, str], Union[bytes, str]]]
HeadersAsMapping = Mapping[Union[bytes, str], Union[bytes, str]]
HeaderTypes = Union[HeadersAsSequence, HeadersAsMapping, None]
Body = Union[bytes, Iterable[bytes], AsyncIterable[bytes], None]

DEFAULT_PORTS = {b"ftp": 21, b"http": 80, b"https": 443, b"ws": 80, b"wss": 443}


def enforce_bytes(value: Union[bytes, str], *, name: str) -> bytes:
    """`value` as ASCII bytes; a str must be ASCII, anything else is a TypeError."""
    if isinstance(value, str):
        try:
            return value.encode("ascii")
        except UnicodeEncodeError:
            raise TypeError(f"{name} strings may not include unicode characters.") from None
    if isinstance(value, bytes):
        return value
    raise TypeError(f"{name} must be bytes or str, but got {type(value).__name__}.")


def enforce_url(value: Union[URL, bytes, str], *, name: str) -> URL:
    if isinstance(value, URL):
        return value
    if isinstance(value, (bytes, str)):
        return URL(value)
    raise TypeError(f"{name} must be a URL, bytes, or str, but got {type(value).__name__}.")


def enforce_headers(value: HeaderTypes, *, name: str) -> list[tuple[bytes, bytes]]:
    """Headers as a fresh list of `(name, value)` byte pairs."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        items: Iterable[Any] = value.items()
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = value
    else:
        raise TypeError(
            f"{name} must be a mapping or sequence of two-tuples, but got {type(value).__name__}."
        )
    return [
        (enforce_bytes(k, name="header name"), enforce_bytes(v, name="header value"))
        for k, v in items
    ]


def enforce_stream(value: Body, *, name: str) -> Union[Iterable[bytes], AsyncIterable[bytes]]:
    if value is None:
        return ByteStream(b"")
    if isinstance(value, bytes):
        return ByteStream(value)
    if isinstance(value, (Iterable, AsyncIterable)) and not isinstance(value, str):
        return value  # type: ignore[return-value]  # bytes was handled above
    raise TypeError(f"{name} must be bytes or an iterable of bytes, not {type(value).__name__}.")


def include_request_headers(
    headers: list[tuple[bytes, bytes]], *, url: URL, content: Body
) -> list[tuple[bytes, bytes]]:
    """`headers` plus Host and, for a body, Content-Length or Transfer-Encoding, as
    `request()` sends them when the caller gave none."""
    names = {name.lower() for name, _ in headers}
    extra: list[tuple[bytes, bytes]] = []
    if b"host" not in names:
        default = DEFAULT_PORTS.get(url.scheme)
        host = url.host if url.port is None or url.port == default else url.authority
        extra.append((b"Host", host))
    if content is not None and b"content-length" not in names:
        if isinstance(content, bytes):
            extra.append((b"Content-Length", str(len(content)).encode("ascii")))
        elif b"transfer-encoding" not in names:
            extra.append((b"Transfer-Encoding", b"chunked"))
    return extra + headers


class Origin:
    """Scheme, host and port: what a connection is made to."""

    def __init__(self, scheme: bytes, host: bytes, port: int) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Origin)
            and self.scheme == other.scheme
            and self.host == other.host
            and self.port == other.port
        )

    def __hash__(self) -> int:
        return hash((self.scheme, self.host, self.port))

    def __str__(self) -> str:
        return f"{self.scheme.decode('ascii')}://{self.host.decode('ascii')}:{self.port}"

    def __repr__(self) -> str:
        return f"Origin(scheme={self.scheme!r}, host={self.host!r}, port={self.port!r})"


class URL:
    """A URL as httpcore holds it: `scheme`, `host`, `port` and `target` (path + query).

    `URL("https://example.com/a?b")` parses; `URL(scheme=b"https", host=b"example.com",
    port=None, target=b"/a?b")` gives the parts directly.
    """

    def __init__(
        self,
        url: Union[bytes, str] = "",
        *,
        scheme: Union[bytes, str] = b"",
        host: Union[bytes, str] = b"",
        port: Optional[int] = None,
        target: Union[bytes, str] = b"",
    ) -> None:
        if url:
            parsed = urlparse(enforce_bytes(url, name="url"))
            self.scheme = parsed.scheme
            self.host = parsed.hostname or b""
            self.port = parsed.port
            self.target = (parsed.path or b"/") + (b"?" + parsed.query if parsed.query else b"")
        else:
            self.scheme = enforce_bytes(scheme, name="scheme")
            self.host = enforce_bytes(host, name="host")
            self.port = port
            self.target = enforce_bytes(target, name="target")

    @property
    def authority(self) -> bytes:
        host = b"[" + self.host + b"]" if b":" in self.host else self.host
        return host if self.port is None else host + b":" + str(self.port).encode("ascii")

    @property
    def origin(self) -> Origin:
        port = self.port if self.port is not None else DEFAULT_PORTS.get(self.scheme)
        if port is None:
            raise ValueError(f"The URL {bytes(self)!r} has no port and no default for its scheme")
        return Origin(self.scheme, self.host, port)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, URL)
            and other.scheme == self.scheme
            and other.host == self.host
            and other.port == self.port
            and other.target == self.target
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, as httpcore's

    def __bytes__(self) -> bytes:
        return self.scheme + b"://" + self.authority + self.target

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(scheme={self.scheme!r}, host={self.host!r}, "
            f"port={self.port!r}, target={self.target!r})"
        )


class Request:
    """An HTTP request with httpcore's fields; `content` becomes `stream`."""

    def __init__(
        self,
        method: Union[bytes, str],
        url: Union[URL, bytes, str],
        *,
        headers: HeaderTypes = None,
        content: Body = None,
        extensions: Optional[dict[str, Any]] = None,
    ) -> None:
        self.method = enforce_bytes(method, name="method")
        self.url = enforce_url(url, name="url")
        self.headers = enforce_headers(headers, name="headers")
        self.stream = enforce_stream(content, name="content")
        self.extensions = {} if extensions is None else extensions

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.method!r}]>"


class Response:
    """An HTTP response with httpcore's fields, whose body is read from `stream`."""

    def __init__(
        self,
        status: int,
        *,
        headers: HeaderTypes = None,
        content: Body = None,
        extensions: Optional[dict[str, Any]] = None,
    ) -> None:
        self.status = status
        self.headers = enforce_headers(headers, name="headers")
        self.stream = enforce_stream(content, name="content")
        self.extensions = {} if extensions is None else extensions
        self._content: Optional[bytes] = content if isinstance(content, bytes) else None

    @property
    def content(self) -> bytes:
        if self._content is None:
            raise RuntimeError(
                "You should call response.read() (or aread()) before accessing content"
            )
        return self._content

    def read(self) -> bytes:
        if self._content is None:
            self._content = b"".join(self.iter_stream())
        return self._content

    def iter_stream(self) -> Iterator[bytes]:
        stream = self.stream
        if not isinstance(stream, Iterable):
            raise RuntimeError(
                "Attempted to read a streaming response with a sync iterator; "
                "use aread() or aiter_stream()"
            )
        if self._content is not None:
            yield self._content
            return
        yield from stream

    def close(self) -> None:
        stream = self.stream
        if not isinstance(stream, Iterable):
            raise RuntimeError("Attempted to close an async response with close(); use aclose()")
        close = getattr(stream, "close", None)
        if close is not None:
            close()

    async def aread(self) -> bytes:
        if self._content is None:
            self._content = b"".join([chunk async for chunk in self.aiter_stream()])
        return self._content

    async def aiter_stream(self) -> AsyncIterator[bytes]:
        stream = self.stream
        if not isinstance(stream, AsyncIterable):
            raise RuntimeError(
                "Attempted to read a streaming response with an async iterator; "
                "use read() or iter_stream()"
            )
        if self._content is not None:
            yield self._content
            return
        async for chunk in stream:
            yield chunk

    async def aclose(self) -> None:
        stream = self.stream
        if not isinstance(stream, AsyncIterable):
            raise RuntimeError("Attempted to close a sync response with aclose(); use close()")
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status}]>"


def build_request(
    method: Union[bytes, str],
    url: Union[URL, bytes, str],
    headers: HeaderTypes,
    content: Body,
    extensions: Optional[dict[str, Any]],
) -> Request:
    """The request `request()`/`stream()` send: Host and body framing headers added."""
    url = enforce_url(url, name="url")
    header_list = include_request_headers(
        enforce_headers(headers, name="headers"), url=url, content=content
    )
    return Request(method, url, headers=header_list, content=content, extensions=extensions)
