"""An httpcore-shaped facade over httpduo's own pools (DESIGN.md rule 14).

Packages written for httpx reach one layer further down, into httpcore: respx's default
mocker patches `handle_request` on httpcore's pool, connection and proxy classes;
httpx-ws reads `response.extensions["network_stream"]` after a 101; tests check
`transport._pool` by type name and read its `_proxy_url`. httpduo has no httpcore
underneath, so `install_as_httpx()` serves `httpcore` and `httpcore.<path>` from this
package (`httpduo._compat.httpcore.<path>`, same path below the package) and, on the
first import of that alias, calls `_routing.activate()`.

Rules:
- Module paths and names are httpcore's (`_models`, `_exceptions`, `_sync.connection_pool`,
  `_async.http_proxy`, `_backends.base`, ...); the objects are thin adapters over
  httpduo's real ones, never a second HTTP implementation.
- While active, every `HTTPTransport` / `AsyncHTTPTransport` request really goes
  through the facade pool's `handle_request` / `handle_async_request`, so whatever is
  patched there intercepts it and no mocked request reaches a socket (`_routing.py`).
- Inactive, nothing here is imported and requests pay nothing: `import httpduo` imports
  neither this package nor httpx/httpcore.
- Exceptions are httpcore's inside the facade and httpduo's outside it, mapped at both
  crossings (`_exceptions.py`); conversions live once in `_convert.py`, shared by the
  sync and async classes, which add only their I/O methods.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from httpduo._models._ssl import create_ssl_context

from ._async.connection import AsyncHTTPConnection
from ._async.connection_pool import AsyncConnectionPool
from ._async.http2 import AsyncHTTP2Connection
from ._async.http11 import AsyncHTTP11Connection
from ._async.http_proxy import AsyncHTTPProxy
from ._async.interfaces import AsyncConnectionInterface
from ._async.socks_proxy import AsyncSOCKSProxy
from ._backends.anyio import AnyIOBackend
from ._backends.auto import AutoBackend
from ._backends.base import AsyncNetworkBackend, AsyncNetworkStream, NetworkBackend, NetworkStream
from ._backends.sync import SyncBackend
from ._exceptions import (
    ConnectError,
    ConnectionNotAvailable,
    ConnectTimeout,
    LocalProtocolError,
    NetworkError,
    PoolTimeout,
    ProtocolError,
    ProxyError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    TimeoutException,
    UnsupportedProtocol,
    WriteError,
    WriteTimeout,
)
from ._models import URL, Body, HeaderTypes, Origin, Request, Response
from ._sync.connection import HTTPConnection
from ._sync.connection_pool import ConnectionPool
from ._sync.http2 import HTTP2Connection
from ._sync.http11 import HTTP11Connection
from ._sync.http_proxy import HTTPProxy
from ._sync.interfaces import ConnectionInterface
from ._sync.socks_proxy import SOCKSProxy

__all__ = [
    "URL",
    "AnyIOBackend",
    "AsyncConnectionInterface",
    "AsyncConnectionPool",
    "AsyncHTTP11Connection",
    "AsyncHTTP2Connection",
    "AsyncHTTPConnection",
    "AsyncHTTPProxy",
    "AsyncNetworkBackend",
    "AsyncNetworkStream",
    "AsyncSOCKSProxy",
    "AutoBackend",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionInterface",
    "ConnectionNotAvailable",
    "ConnectionPool",
    "HTTP11Connection",
    "HTTP2Connection",
    "HTTPConnection",
    "HTTPProxy",
    "LocalProtocolError",
    "NetworkBackend",
    "NetworkError",
    "NetworkStream",
    "Origin",
    "PoolTimeout",
    "ProtocolError",
    "ProxyError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "Request",
    "Response",
    "SOCKSProxy",
    "SyncBackend",
    "TimeoutException",
    "UnsupportedProtocol",
    "WriteError",
    "WriteTimeout",
    "default_ssl_context",
    "request",
]


def default_ssl_context() -> Any:
    """The default SSL context (httpduo's shared one: verified, system CA bundle)."""
    return create_ssl_context()


def request(
    method: Union[bytes, str],
    url: Union[URL, bytes, str],
    *,
    headers: HeaderTypes = None,
    content: Body = None,
    extensions: Optional[dict[str, Any]] = None,
) -> Response:
    """Send one request on a pool of its own and return the response, body read."""
    with ConnectionPool() as pool:
        return pool.request(method, url, headers=headers, content=content, extensions=extensions)
