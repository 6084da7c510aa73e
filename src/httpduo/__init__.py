"""httpduo: an HTTP client with httpx's API, sync and async from one source.

This module is the whole public API: every public name is imported here explicitly and
listed in `__all__`. Importing it never imports anyio (the async backend loads lazily).
"""

from __future__ import annotations

from ._async._base_transport import AsyncBaseTransport
from ._async._transport import AsyncHTTPTransport
from ._models._config import Limits, Proxy, Timeout
from ._models._cookies import Cookies
from ._models._exceptions import (
    CloseError,
    ConnectError,
    ConnectTimeout,
    CookieConflict,
    DecodingError,
    HTTPError,
    HTTPStatusError,
    InvalidURL,
    LocalProtocolError,
    NetworkError,
    PoolTimeout,
    ProtocolError,
    ProxyError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    RequestError,
    RequestNotRead,
    ResponseNotRead,
    StreamClosed,
    StreamConsumed,
    StreamError,
    TimeoutException,
    TooManyRedirects,
    TransportError,
    UnsupportedProtocol,
    WriteError,
    WriteTimeout,
)
from ._models._headers import Headers
from ._models._requests import Request
from ._models._responses import Response
from ._models._ssl import create_ssl_context
from ._models._status_codes import codes
from ._models._streams import AsyncByteStream, ByteStream, SyncByteStream
from ._models._urls import URL, QueryParams
from ._sync._base_transport import BaseTransport
from ._sync._transport import HTTPTransport

__title__ = "httpduo"
__description__ = "An HTTP client for Python with the httpx API, sync and async from one source."
__version__ = "0.1.0"

__all__ = [
    "URL",
    "AsyncBaseTransport",
    "AsyncByteStream",
    "AsyncHTTPTransport",
    "BaseTransport",
    "ByteStream",
    "CloseError",
    "ConnectError",
    "ConnectTimeout",
    "CookieConflict",
    "Cookies",
    "DecodingError",
    "HTTPError",
    "HTTPStatusError",
    "HTTPTransport",
    "Headers",
    "InvalidURL",
    "Limits",
    "LocalProtocolError",
    "NetworkError",
    "PoolTimeout",
    "ProtocolError",
    "Proxy",
    "ProxyError",
    "QueryParams",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "Request",
    "RequestError",
    "RequestNotRead",
    "Response",
    "ResponseNotRead",
    "StreamClosed",
    "StreamConsumed",
    "StreamError",
    "SyncByteStream",
    "Timeout",
    "TimeoutException",
    "TooManyRedirects",
    "TransportError",
    "UnsupportedProtocol",
    "WriteError",
    "WriteTimeout",
    "__description__",
    "__title__",
    "__version__",
    "codes",
    "create_ssl_context",
]

# Public classes report `httpduo` as their module, so reprs, pickles and docs show the
# public path rather than the private module that defines them.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = "httpduo"
del _name, _obj
