"""The exception hierarchy, name for name httpx 0.28's.

Exceptions are mapped once, at the boundary where they arise (backend, h11, h2, SOCKS),
into this tree. Exceptions raised by user code inside a transport or hook pass through
unwrapped.

    HTTPError
    ├── RequestError                  (carries .request)
    │   ├── TransportError
    │   │   ├── TimeoutException
    │   │   │   ├── ConnectTimeout
    │   │   │   ├── ReadTimeout
    │   │   │   ├── WriteTimeout
    │   │   │   └── PoolTimeout
    │   │   ├── NetworkError
    │   │   │   ├── ConnectError
    │   │   │   ├── ReadError
    │   │   │   ├── WriteError
    │   │   │   └── CloseError
    │   │   ├── ProtocolError
    │   │   │   ├── LocalProtocolError
    │   │   │   └── RemoteProtocolError
    │   │   ├── ProxyError
    │   │   └── UnsupportedProtocol
    │   ├── DecodingError
    │   ├── TooManyRedirects
    │   └── ResponseTooLarge          (beyond httpx: an opt-in body size limit)
    └── HTTPStatusError               (carries .request and .response)
    InvalidURL                        (a ValueError-like error for bad URLs)
    CookieConflict
    StreamError (RuntimeError)        (misuse of a request/response stream)
    ├── StreamConsumed
    ├── StreamClosed
    ├── ResponseNotRead
    └── RequestNotRead

`attach_request(exc, request)` gives a `RequestError` its request when the raising layer
(a backend, say) did not know it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # pragma: no cover
    from ._requests import Request
    from ._responses import Response

__all__ = [
    "CloseError",
    "ConnectError",
    "ConnectTimeout",
    "CookieConflict",
    "DecodingError",
    "HTTPError",
    "HTTPStatusError",
    "InvalidURL",
    "LocalProtocolError",
    "NetworkError",
    "PoolTimeout",
    "ProtocolError",
    "ProxyError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "RequestError",
    "RequestNotRead",
    "ResponseNotRead",
    "StreamClosed",
    "StreamConsumed",
    "StreamError",
    "TimeoutException",
    "ResponseTooLarge",
    "TooManyRedirects",
    "TransportError",
    "UnsupportedProtocol",
    "WriteError",
    "WriteTimeout",
    "attach_request",
]


class HTTPError(Exception):
    """Base class for `RequestError` and `HTTPStatusError`.

    Catch this to handle any failure of `response = client.get(...);
    response.raise_for_status()`.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self._request: Optional[Request] = None

    @property
    def request(self) -> Request:
        if self._request is None:
            raise RuntimeError("The .request property has not been set.")
        return self._request

    @request.setter
    def request(self, request: Request) -> None:
        self._request = request


class RequestError(HTTPError):
    """An error occurred while issuing a request."""

    def __init__(self, message: str, *, request: Optional[Request] = None) -> None:
        super().__init__(message)
        # The raising layer often has no request at hand; `attach_request` fills it in.
        self._request = request


class TransportError(RequestError):
    """An error raised by the transport: network, timeout, protocol or proxy."""


class TimeoutException(TransportError):
    """The base class for timeouts."""


class ConnectTimeout(TimeoutException):
    """Timed out while connecting to the host."""


class ReadTimeout(TimeoutException):
    """Timed out while receiving data from the host."""


class WriteTimeout(TimeoutException):
    """Timed out while sending data to the host."""


class PoolTimeout(TimeoutException):
    """Timed out waiting for a connection from the pool."""


class NetworkError(TransportError):
    """The base class for network errors."""


class ConnectError(NetworkError):
    """Failed to establish a connection."""


class ReadError(NetworkError):
    """Failed to receive data from the network."""


class WriteError(NetworkError):
    """Failed to send data through the network."""


class CloseError(NetworkError):
    """Failed to close a connection."""


class ProtocolError(TransportError):
    """The protocol was violated."""


class LocalProtocolError(ProtocolError):
    """The client is about to violate the protocol (a bug or a malformed request)."""


class RemoteProtocolError(ProtocolError):
    """The server violated the protocol."""


class ProxyError(TransportError):
    """An error occurred while establishing a proxy connection."""


class UnsupportedProtocol(TransportError):
    """The URL's scheme is not supported, or a URL without a scheme was requested."""


class DecodingError(RequestError):
    """Decoding of the response body failed."""


class TooManyRedirects(RequestError):
    """Too many redirects."""


class ResponseTooLarge(RequestError):
    """The response body is larger than the request's `max_response_body` or
    `max_response_download` extension allows.

    Raised as soon as the limit is passed (or up front, from `Content-Length`), before
    the rest of the body is read or decoded; the response is closed first, and its
    HTTP/1.1 connection is not reused.
    """


class HTTPStatusError(HTTPError):
    """The response had an error status code (raised by `Response.raise_for_status`)."""

    def __init__(self, message: str, *, request: Request, response: Response) -> None:
        super().__init__(message)
        self._request = request
        self.response = response


class InvalidURL(Exception):
    """The URL (or one of its parts) is malformed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class CookieConflict(Exception):
    """`Cookies.get(name)` matched several cookies; give a domain and path to choose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class StreamError(RuntimeError):
    """The base class for stream misuse: a programming error, not a network one."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class StreamConsumed(StreamError):
    """The stream was already read once and cannot be read again."""

    def __init__(self) -> None:
        super().__init__(
            "Attempted to read or stream content, but the content has already been "
            "streamed. For requests, use a bytes (or list of bytes) body if it may need "
            "to be sent twice, as redirects and auth retries do; for responses, read "
            "them with .read() once and use .content thereafter."
        )


class StreamClosed(StreamError):
    """The stream was closed before it was read."""

    def __init__(self) -> None:
        super().__init__("Attempted to read or stream content, but the stream has been closed.")


class ResponseNotRead(StreamError):
    """`.content` or `.text` was used on a streaming response that was not read."""

    def __init__(self) -> None:
        super().__init__(
            "Attempted to access streaming response content without having called "
            "`read()` or `aread()` first."
        )


class RequestNotRead(StreamError):
    """`.content` was used on a streaming request that was not read."""

    def __init__(self) -> None:
        super().__init__(
            "Attempted to access streaming request content without having called "
            "`read()` or `aread()` first."
        )


def attach_request(exc: BaseException, request: Optional[Request]) -> None:
    """Give a `RequestError` the request it was raised for, unless it has one already.

    Layers that raise without knowing the request (a backend, a decoder, a user's
    transport) are wrapped in `try/except` at the first level that does know it: an
    exception handler costs nothing on the path without an error.
    """
    if request is not None and isinstance(exc, RequestError) and exc._request is None:
        exc._request = request
