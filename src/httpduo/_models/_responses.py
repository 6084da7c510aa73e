"""`Response`: an HTTP response as the client hands it back (httpx 0.28 API).

Rules of this module:
- Cheap to create: a transport builds one per request from a status, headers and a
  stream. Nothing is parsed up front: content decoders are built when the body is read,
  `Set-Cookie` only when `.cookies` is asked for, `Link` only when `.links` is.
- A response built from `content=`/`text=`/`html=`/`json=` is read at once (it is closed
  and `.content` works); one built from `stream=` must be read or iterated.
- Reading, iterating and closing the body live in `_response_body.py` (its rules
  there): the raw stream is iterated at most once, and `close()`/`aclose()` are
  idempotent.
- Models never read clocks: closing a response runs the hook the client registered
  with `_on_close`, and the client, which timed the request, sets `elapsed` there.
- Pickling keeps the status, headers, request, history and content (if read); the
  stream does not survive, so an unread unpickled response is closed.
"""

from __future__ import annotations

import datetime
import json as jsonlib
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from ._charsets import charset_from_content_type, is_known_encoding
from ._content import encode_response
from ._exceptions import (
    HTTPStatusError,
    ResponseNotRead,
)
from ._headers import Headers
from ._links import parse_links
from ._response_body import ResponseBody
from ._status_codes import codes
from ._streams import AsyncByteStream, ByteStream, SyncByteStream, UnattachedStream
from ._types import HeaderTypes, ResponseContent, ResponseExtensions

if TYPE_CHECKING:  # pragma: no cover
    from ._cookies import Cookies
    from ._requests import Request
    from ._urls import URL

__all__ = ["Response"]

DefaultEncoding = Union[str, Callable[[bytes], Optional[str]]]

# Statuses that send the client elsewhere when they carry a Location header (300 and 304
# are redirections without a single target).
_REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))


class Response(ResponseBody):
    """An HTTP response: status, headers, body (streamed or read) and metadata."""

    # No `__slots__`: see `_response_body.py` (a Response may be an exception too).

    status_code: int
    headers: Headers
    stream: Union[SyncByteStream, AsyncByteStream]
    extensions: dict[str, Any]
    history: list[Response]
    next_request: Optional[Request]
    default_encoding: DefaultEncoding
    is_closed: bool
    is_stream_consumed: bool
    _request: Optional[Request]
    _text: Optional[str]
    _encoding: Optional[str]
    _encoding_known: bool
    # Seconds until `elapsed` is first asked for, then the timedelta.
    _elapsed: Union[datetime.timedelta, float, None]
    _num_bytes_downloaded: int
    _cookies: Optional[Cookies]

    def __init__(
        self,
        status_code: int,
        *,
        headers: Optional[HeaderTypes] = None,
        content: Optional[ResponseContent] = None,
        text: Optional[str] = None,
        html: Optional[str] = None,
        json: Any = None,
        stream: Union[SyncByteStream, AsyncByteStream, None] = None,
        request: Optional[Request] = None,
        extensions: Optional[ResponseExtensions] = None,
        history: Optional[list[Response]] = None,
        default_encoding: DefaultEncoding = "utf-8",
    ) -> None:
        self.status_code = status_code
        self.headers = Headers(headers)
        self._request = request
        self.next_request = None
        self.extensions = {} if extensions is None else dict(extensions)
        self.history = [] if history is None else list(history)
        self.default_encoding = default_encoding
        self._text = None
        self._encoding = None
        self._encoding_known = False
        self._elapsed = None
        self._close_hook = None
        self._num_bytes_downloaded = 0
        self._cookies = None
        self._body_bytes = None

        if stream is not None:
            self.stream = stream
            self.is_closed = False
            self.is_stream_consumed = False
            return

        if content is None and text is None and html is None and json is None:
            body = ByteStream(b"")
        else:
            auto_headers, body_stream = encode_response(content, text, html, json)
            self._add_auto_headers(auto_headers)
            if not isinstance(body_stream, ByteStream):
                self.stream = body_stream
                self.is_closed = False
                self.is_stream_consumed = False
                return
            body = body_stream

        # In-memory content: the response is complete from the start.
        self.stream = body
        if "content-encoding" in self.headers:
            self.is_closed = False
            self.is_stream_consumed = False
            self.read()
            # A body given in memory was not downloaded: report 0, as httpx does.
            self._num_bytes_downloaded = 0
        else:
            self._body_bytes = body._content
            self.is_closed = True
            self.is_stream_consumed = True

    @classmethod
    def _from_transport(
        cls,
        status_code: int,
        headers: Headers,
        stream: Union[SyncByteStream, AsyncByteStream],
        extensions: dict[str, Any],
    ) -> Response:
        """A response whose body is still to be read, as a transport builds it: `headers`
        and `extensions` are fresh objects the response may keep as they are."""
        self = cls.__new__(cls)
        self.status_code = status_code
        self.headers = headers
        self._request = None
        self.next_request = None
        self.extensions = extensions
        self.history = []
        self.default_encoding = "utf-8"
        self._text = None
        self._encoding = None
        self._encoding_known = False
        self._elapsed = None
        self._close_hook = None
        self._num_bytes_downloaded = 0
        self._cookies = None
        self._body_bytes = None
        self.stream = stream
        self.is_closed = False
        self.is_stream_consumed = False
        return self

    def _add_auto_headers(self, auto_headers: dict[str, str]) -> None:
        header_list = self.headers._list
        present = {lower for _, lower, _ in header_list}
        framed = b"content-length" in present or b"transfer-encoding" in present
        for name, value in auto_headers.items():
            raw = name.encode("ascii")
            lower = raw.lower()
            if lower in present:
                continue
            if lower in (b"content-length", b"transfer-encoding"):
                if framed:  # one framing header only: the caller's, if they gave one
                    continue
                framed = True
            # Values from encode_response are generated, hence valid: no re-validation.
            header_list.append((raw, lower, value.encode("latin-1")))
            present.add(lower)

    # -- metadata ----------------------------------------------------------------------

    @property
    def request(self) -> Request:
        """The request this response answers; `RuntimeError` if it was never set."""
        request = self._request
        if request is None:
            raise RuntimeError("The request instance has not been set on this response.")
        return request

    @request.setter
    def request(self, value: Request) -> None:
        self._request = value

    @property
    def url(self) -> URL:
        """The URL of the request this response answers."""
        return self.request.url

    @property
    def elapsed(self) -> datetime.timedelta:
        """Time from sending the request to closing the response (set by the client)."""
        elapsed = self._elapsed
        if elapsed is None:
            raise RuntimeError(
                "'.elapsed' may only be accessed after the response has been read or "
                "closed: the client measures it and sets it then."
            )
        if not isinstance(elapsed, datetime.timedelta):
            elapsed = self._elapsed = datetime.timedelta(seconds=elapsed)
        return elapsed

    @elapsed.setter
    def elapsed(self, value: datetime.timedelta) -> None:
        self._elapsed = value

    def _on_close(self, hook: Callable[[Response], None]) -> None:
        """Have `hook(response)` run once, when this response is first closed."""
        self._close_hook = hook

    def _set_elapsed_seconds(self, seconds: float) -> None:
        # Made a timedelta only if asked for: most responses never are.
        self._elapsed = seconds

    @property
    def http_version(self) -> str:
        """ "HTTP/1.1", "HTTP/2", ... as the transport reported it."""
        version = self.extensions.get("http_version")
        if version is None:
            return "HTTP/1.1"
        if isinstance(version, bytes):
            return version.decode("ascii", errors="ignore")
        return str(version)

    @property
    def reason_phrase(self) -> str:
        """The reason phrase the server sent, else the standard one for the status."""
        phrase = self.extensions.get("reason_phrase")
        if phrase is None:
            return codes.get_reason_phrase(self.status_code)
        if isinstance(phrase, bytes):
            return phrase.decode("ascii", errors="ignore")
        return str(phrase)

    @property
    def num_bytes_downloaded(self) -> int:
        """Raw (still encoded) body bytes read from the stream so far."""
        return self._num_bytes_downloaded

    # -- status ------------------------------------------------------------------------

    @property
    def is_informational(self) -> bool:
        """1xx."""
        return codes.is_informational(self.status_code)

    @property
    def is_success(self) -> bool:
        """2xx."""
        return codes.is_success(self.status_code)

    @property
    def is_redirect(self) -> bool:
        """3xx (see `has_redirect_location` for "is there somewhere to go")."""
        return codes.is_redirect(self.status_code)

    @property
    def is_client_error(self) -> bool:
        """4xx."""
        return codes.is_client_error(self.status_code)

    @property
    def is_server_error(self) -> bool:
        """5xx."""
        return codes.is_server_error(self.status_code)

    @property
    def is_error(self) -> bool:
        """4xx or 5xx."""
        return codes.is_error(self.status_code)

    @property
    def has_redirect_location(self) -> bool:
        """A 301, 302, 303, 307 or 308 status with a Location header."""
        return self.status_code in _REDIRECT_STATUSES and "location" in self.headers

    def raise_for_status(self) -> Response:
        """Raise `HTTPStatusError` unless the status is 2xx; return the response if it is."""
        request = self._request
        if request is None:
            raise RuntimeError(
                "Cannot call `raise_for_status` as the request instance has not been set "
                "on this response."
            )
        status = self.status_code
        if 200 <= status <= 299:
            return self
        if 100 <= status <= 199:
            kind = "Informational response"
        elif 300 <= status <= 399:
            kind = "Redirect response"
        elif 400 <= status <= 499:
            kind = "Client error"
        elif 500 <= status <= 599:
            kind = "Server error"
        else:
            kind = "Invalid status code"
        message = f"{kind} '{status} {self.reason_phrase}' for url '{request.url}'"
        if self.has_redirect_location:
            message += f"\nRedirect location: '{self.headers['location']}'"
        message += (
            "\nFor more information check: "
            f"https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/{status}"
        )
        raise HTTPStatusError(message, request=request, response=self)

    # -- headers-derived ---------------------------------------------------------------

    @property
    def charset_encoding(self) -> Optional[str]:
        """The charset of the Content-Type header (lower-cased), or None."""
        content_type = self.headers.get("content-type")
        return None if content_type is None else charset_from_content_type(content_type)

    @property
    def encoding(self) -> Optional[str]:
        """The codec for `.text`: the Content-Type charset if Python knows it, else
        `default_encoding` (called with the body if it is a callable), else "utf-8".

        May be set (before `.text` is first used) to override the choice.
        """
        if self._encoding_known:
            return self._encoding
        charset = self.charset_encoding
        if charset is not None and is_known_encoding(charset):
            encoding = charset
        else:
            default = self.default_encoding
            if isinstance(default, str):
                encoding = default
            elif self._body_bytes is None:
                # The detector needs the body; until it is read, fall back uncached.
                return "utf-8"
            else:
                encoding = default(self._body_bytes) or "utf-8"
        self._encoding = encoding
        self._encoding_known = True
        return encoding

    @encoding.setter
    def encoding(self, value: Optional[str]) -> None:
        if self._text is not None:
            raise ValueError("Setting encoding after `text` has been accessed is not allowed.")
        self._encoding = value
        self._encoding_known = True

    @property
    def links(self) -> dict[str, dict[str, str]]:
        """The Link header parsed: `{rel or url: {"url": ..., "rel": ..., ...}}`."""
        header = self.headers.get("link")
        if not header:
            return {}
        links: dict[str, dict[str, str]] = {}
        for link in parse_links(header):
            links[link.get("rel") or link["url"]] = link
        return links

    @property
    def cookies(self) -> Cookies:
        """The cookies this response sets (parsed on first use)."""
        cookies = self._cookies
        if cookies is None:
            from ._cookies import Cookies  # deferred: _cookies refers back to Response

            cookies = Cookies()
            cookies.extract_cookies(self)
            self._cookies = cookies
        return cookies

    # -- body (read, iterated and closed by ResponseBody) -------------------------------

    @property
    def content(self) -> bytes:
        """The decoded body; raises `ResponseNotRead` for an unread streaming response."""
        content = self._body_bytes
        if content is None:
            raise ResponseNotRead()
        return content

    @property
    def text(self) -> str:
        """The body decoded as text with `.encoding` (undecodable bytes replaced)."""
        text = self._text
        if text is None:
            content = self.content
            text = content.decode(self.encoding or "utf-8", errors="replace") if content else ""
            self._text = text
        return text

    def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON (`json.loads(response.content, **kwargs)`).

        JSON is Unicode by definition, so the bytes are decoded as UTF-8/16/32 by
        detection, not with the Content-Type charset.
        """
        return jsonlib.loads(self.content, **kwargs)

    # -- misc --------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code} {self.reason_phrase}]>"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        # The stream, the close hook and the parsed cookies do not survive (the cookies
        # are parsed again from the headers when asked for).
        for name in ("stream", "_close_hook", "_cookies", "is_closed"):
            state.pop(name, None)
        # Extensions may hold connections and callables; keep the two plain-data ones
        # that `http_version` and `reason_phrase` are read from.
        state["extensions"] = {
            key: value
            for key, value in self.extensions.items()
            if key in ("http_version", "reason_phrase") and isinstance(value, (bytes, str))
        }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.is_closed = True
        self.stream = UnattachedStream()
        self._cookies = None
        self._close_hook = None
