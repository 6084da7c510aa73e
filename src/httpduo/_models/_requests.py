"""`Request`: an HTTP request as the client sends it (httpx 0.28 API).

Rules of this module:
- A `URL` or `Headers` instance handed in is trusted: the URL is used as is (it is
  immutable) and headers are copied without being validated again.
- Automatic headers are added only when the caller did not give them: `Host` first (from
  the URL's netloc, omitting a default port), then the body headers from
  `encode_request` (`Content-Length` or `Transfer-Encoding: chunked`, `Content-Type`).
  An empty body gets `Content-Length: 0` only for POST, PUT and PATCH. A `stream=` given
  directly is sent as it is: no body headers are derived from it (Host and Cookie still
  are added).
- In-memory bodies are available as `.content` at once; streaming bodies need
  `read()`/`aread()`, which also make the body replayable.
- Pickling keeps everything but the stream and the extensions (which may hold callables
  and connections); an unpickled request's stream raises `StreamClosed` when iterated.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from operator import itemgetter
from typing import Any, Optional, Union

from ._content import encode_request
from ._exceptions import RequestNotRead
from ._headers import Headers
from ._multipart import boundary_from_content_type
from ._streams import AsyncByteStream, ByteStream, SyncByteStream, UnattachedStream
from ._types import (
    CookieTypes,
    HeaderTypes,
    QueryParamTypes,
    RequestContent,
    RequestData,
    RequestExtensions,
    RequestFiles,
)
from ._urls import URL

__all__ = ["Request"]

# Methods whose empty body is announced with `Content-Length: 0`, as httpx does (servers
# may otherwise wait for a body or answer 411 Length Required).
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))

_HOST = b"host"
_CONTENT_LENGTH = b"content-length"
_TRANSFER_ENCODING = b"transfer-encoding"
_LOWER_NAME = itemgetter(1)  # of a `Headers._list` entry

# Automatic headers go straight into `Headers._list` (raw name, lower name, value): they
# are generated here or by encode_request, so validating them again would be wasted work.
_CONTENT_LENGTH_ZERO = (b"Content-Length", _CONTENT_LENGTH, b"0")

_SYNC_ON_ASYNC = (
    "Attempted to call a sync iterator on an async stream. This request body can only "
    "be read with `await request.aread()`."
)
_ASYNC_ON_SYNC = (
    "Attempted to call an async iterator on a sync stream. This request body can only "
    "be read with `request.read()`."
)


class Request:
    """An HTTP request: method, URL, headers, body stream and extensions."""

    # `__dict__` keeps arbitrary attributes working (httpx allows them, and test doubles
    # use them) while the fixed fields live in slots.
    __slots__ = (
        "__dict__",
        "__weakref__",
        "_content",
        "extensions",
        "headers",
        "method",
        "stream",
        "url",
    )

    method: str
    url: URL
    headers: Headers
    stream: Union[SyncByteStream, AsyncByteStream]
    extensions: dict[str, Any]
    _content: Optional[bytes]

    def __init__(
        self,
        method: Union[str, bytes],
        url: Union[URL, str],
        *,
        params: Optional[QueryParamTypes] = None,
        headers: Optional[HeaderTypes] = None,
        cookies: Optional[CookieTypes] = None,
        content: Optional[RequestContent] = None,
        data: Optional[RequestData] = None,
        files: Optional[RequestFiles] = None,
        json: Optional[Any] = None,
        stream: Union[SyncByteStream, AsyncByteStream, None] = None,
        extensions: Optional[RequestExtensions] = None,
    ) -> None:
        if isinstance(method, str):
            self.method = method.upper()
        elif isinstance(method, bytes):
            self.method = method.decode("ascii").upper()
        else:
            raise TypeError(f"Request method must be str or bytes, not {type(method).__name__}")

        if not isinstance(url, URL):
            url = URL(url)
        # An empty `params` leaves the URL's own query alone (httpx 0.28 drops it).
        self.url = url.copy_merge_params(params) if params else url

        self.headers = Headers(headers)
        self.extensions = {} if extensions is None else dict(extensions)
        self._content = None

        header_list = self.headers._list
        if _HOST not in map(_LOWER_NAME, header_list):
            netloc = url.netloc
            if netloc:
                # Host goes first, as RFC 9112 section 3.2 recommends.
                header_list.insert(0, (b"Host", _HOST, netloc))

        if cookies:
            from ._cookies import Cookies  # deferred: _cookies refers back to Request

            Cookies(cookies).set_cookie_header(self)

        if stream is not None:
            self.stream = stream
            if type(stream) is ByteStream:  # in memory already: no read() needed
                self._content = stream._content
            return

        if content is None and data is None and files is None and json is None:
            # The common bodiless request: no encoding work at all.
            self.stream = ByteStream(b"")
            self._content = b""
            if self.method in _BODY_METHODS:
                self._add_body_headers({})
            return

        # A multipart boundary the caller put in Content-Type is the one the body uses.
        boundary = boundary_from_content_type(self.headers.get("content-type")) if files else None
        auto_headers, body = encode_request(
            content=content, data=data, files=files, json=json, boundary=boundary
        )
        self.stream = body
        if isinstance(body, ByteStream):
            self._content = body._content
        self._add_body_headers(auto_headers)

    def _add_body_headers(self, auto_headers: dict[str, str]) -> None:
        header_list = self.headers._list
        present = {lower for _, lower, _ in header_list}
        framed = _CONTENT_LENGTH in present or _TRANSFER_ENCODING in present
        for name, value in auto_headers.items():
            raw = name.encode("ascii")
            lower = raw.lower()
            if lower in present:
                continue
            if lower in (_CONTENT_LENGTH, _TRANSFER_ENCODING):
                # One framing header only: the caller's, if they gave one.
                if framed or (value == "0" and self.method not in _BODY_METHODS):
                    continue
                framed = True
            # Values from encode_request are generated, hence valid: no re-validation.
            header_list.append((raw, lower, value.encode("latin-1")))
            present.add(lower)
        if not framed and self.method in _BODY_METHODS:
            header_list.append(_CONTENT_LENGTH_ZERO)

    @property
    def content(self) -> bytes:
        """The body as bytes; raises `RequestNotRead` for an unread streaming body."""
        if self._content is None:
            raise RequestNotRead()
        return self._content

    def read(self) -> bytes:
        """Read a streaming body into memory (and make it replayable); return it."""
        if self._content is None:
            stream = self.stream
            if not isinstance(stream, Iterable):
                raise RuntimeError(_SYNC_ON_ASYNC)
            self._content = b"".join(stream)
            if type(stream) is not ByteStream:
                self.stream = ByteStream(self._content)
        return self._content

    async def aread(self) -> bytes:
        """Read a streaming body into memory (and make it replayable); return it."""
        if self._content is None:
            stream = self.stream
            if not isinstance(stream, AsyncIterable):
                raise RuntimeError(_ASYNC_ON_SYNC)
            self._content = b"".join([chunk async for chunk in stream])
            if type(stream) is not ByteStream:
                self.stream = ByteStream(self._content)
        return self._content

    def __repr__(self) -> str:
        return f"<{type(self).__name__}({self.method!r}, {str(self.url)!r})>"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(getattr(self, "__dict__", {}))
        state["method"] = self.method
        state["url"] = self.url
        state["headers"] = self.headers
        state["_content"] = self._content
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self.extensions = {}
        self.stream = UnattachedStream()
