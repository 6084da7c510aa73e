"""httpduo: an HTTP client with httpx's API, sync and async from one source.

This module is the whole public API: every public name is imported here explicitly and
listed in `__all__`. Importing it never imports anyio (the async backend loads lazily),
nor click or rich: `main`, the command-line client's entry point, loads on first use.
"""

# No `from __future__ import annotations` here: it would add a public `annotations` name.
import typing as _typing

from ._api import delete, get, head, options, patch, post, put, request, stream
from ._async._base_transport import AsyncBaseTransport
from ._async._client import AsyncClient
from ._async._transport import AsyncHTTPTransport
from ._install_as_httpx import install_as_httpx, uninstall_as_httpx
from ._models._auth import Auth, BasicAuth, DigestAuth, FunctionAuth, NetRCAuth
from ._models._charsets import autodetect_encoding
from ._models._config import USE_CLIENT_DEFAULT, Limits, Proxy, Timeout
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
    ResponseTooLarge,
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
from ._models._proxy_env import get_environment_proxies
from ._models._requests import Request
from ._models._responses import Response
from ._models._ssl import create_ssl_context
from ._models._status_codes import codes
from ._models._streams import AsyncByteStream, ByteStream, SyncByteStream
from ._models._urls import URL, QueryParams
from ._sync._base_transport import BaseTransport
from ._sync._client import Client
from ._sync._transport import HTTPTransport
from ._transports.asgi import ASGITransport
from ._transports.mock import MockTransport
from ._transports.wsgi import WSGITransport
from ._version import __version__

if _typing.TYPE_CHECKING:  # pragma: no cover
    from ._cli.main import cli as main

__title__ = "httpduo"
__description__ = "An HTTP client for Python with the httpx API, sync and async from one source."

__all__ = [
    "ASGITransport",
    "AsyncBaseTransport",
    "AsyncByteStream",
    "AsyncClient",
    "AsyncHTTPTransport",
    "Auth",
    "BaseTransport",
    "BasicAuth",
    "ByteStream",
    "Client",
    "CloseError",
    "ConnectError",
    "ConnectTimeout",
    "CookieConflict",
    "Cookies",
    "DecodingError",
    "DigestAuth",
    "FunctionAuth",
    "HTTPError",
    "HTTPStatusError",
    "HTTPTransport",
    "Headers",
    "InvalidURL",
    "Limits",
    "LocalProtocolError",
    "MockTransport",
    "NetRCAuth",
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
    "ResponseTooLarge",
    "StreamClosed",
    "StreamConsumed",
    "StreamError",
    "SyncByteStream",
    "Timeout",
    "TimeoutException",
    "TooManyRedirects",
    "TransportError",
    "URL",
    "USE_CLIENT_DEFAULT",
    "UnsupportedProtocol",
    "WSGITransport",
    "WriteError",
    "WriteTimeout",
    "__description__",
    "__title__",
    "__version__",
    "autodetect_encoding",
    "codes",
    "create_ssl_context",
    "delete",
    "get",
    "get_environment_proxies",
    "head",
    "install_as_httpx",
    "main",
    "options",
    "patch",
    "post",
    "put",
    "request",
    "stream",
    "uninstall_as_httpx",
]

# Public classes report `httpduo` as their module, so reprs, pickles and docs show the
# public path rather than the private module that defines them.
for _name in __all__:
    _obj = globals().get(_name)
    if isinstance(_obj, type):
        _obj.__module__ = "httpduo"
del _name, _obj


def __getattr__(name: str) -> _typing.Any:
    # `main` (httpx.main's twin) imports click and rich, so it loads when first asked for.
    if name == "main":
        from ._cli import load_main

        command = globals()["main"] = load_main()
        return command
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
