"""What the facade's pool, proxy and connection classes share, sync and async alike.

Rules:
- A facade pool owns one of httpduo's real pools (`_httpduo_pool`) and sends every
  request it is given there; the sync and async classes (`_sync/`, `_async/`) add only
  their I/O methods, everything else (constructor arguments, the attributes httpx's
  users read) is here, once.
- Two ways to get one: constructed with httpcore's arguments (a new real pool is built),
  or `_wrap(real_pool)` around the pool of an existing `HTTPTransport` (nothing new is
  built; see `_routing.py`).
- The attributes are httpcore's: `_ssl_context`, the configuration (`_max_connections`,
  `_max_keepalive_connections`, `_keepalive_expiry`, `_http1`, `_http2`, `_retries`,
  `_local_address`, `_uds`, `_socket_options`, copied once: pools never change them);
  on proxies `_proxy_url` (an httpcore URL), `_proxy_headers` (byte pairs, credentials
  included, as httpcore sends them), `_proxy_ssl_context`; on SOCKS proxies
  `_proxy_auth`.
- `_requests` is httpcore's list of the requests a pool has queued or in flight: a
  request enters when `handle_request` is called and leaves when it fails or when its
  response body is closed (tests assert it is empty to prove nothing leaked).
- httpcore arguments httpduo cannot honour (an httpcore network backend, a `proxy=` on a
  plain pool) are a TypeError naming the argument, never silently ignored.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, ClassVar, Optional, Union

from httpduo._models._config import Proxy
from httpduo._models._ssl import create_ssl_context
from httpduo._models._streams import AsyncByteStream, SyncByteStream
from httpduo._models._urls import URL as DuoURL

from ._models import URL, HeaderTypes, Origin, enforce_headers, enforce_url

__all__ = [
    "ConnectionFacade",
    "HTTPProxyFacade",
    "PoolFacade",
    "SOCKSProxyFacade",
    "core_url",
    "in_flight_until_closed",
]


def core_url(url: DuoURL) -> URL:
    return URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)


# The constructor arguments httpduo's pools take under the same names as httpcore's.
_POOL_ARGUMENTS = (
    "max_connections",
    "max_keepalive_connections",
    "keepalive_expiry",
    "http1",
    "http2",
    "retries",
    "local_address",
    "uds",
    "socket_options",
)


# httpcore's pool attribute -> httpduo's pool attribute holding the same setting.
_CONFIGURATION = (
    ("_max_connections", "_max_connections"),
    ("_max_keepalive_connections", "_max_keepalive"),
    ("_keepalive_expiry", "_keepalive_expiry"),
    ("_http1", "_http1"),
    ("_http2", "_http2"),
    ("_retries", "_retries"),
    ("_local_address", "_local_address"),
    ("_uds", "_uds"),
    ("_socket_options", "_socket_options"),
)


def _pool_options(arguments: dict[str, Any]) -> dict[str, Any]:
    """httpduo pool options from a facade constructor's arguments (its `locals()`);
    an argument the constructor does not take is left at httpduo's default."""
    network_backend = arguments.get("network_backend")
    if network_backend is not None:
        raise TypeError(
            "network_backend= is not supported by httpduo's httpcore facade: httpduo "
            f"opens its connections with its own backends (got {network_backend!r})"
        )
    options = {name: arguments[name] for name in _POOL_ARGUMENTS if name in arguments}
    if not (options["http1"] or options["http2"]):
        raise ValueError("At least one of http1 or http2 must be enabled.")
    if options["http2"]:
        from httpduo._async._http2 import load_h2

        load_h2()
    return options


def _default_context(ssl_context: Optional[ssl.SSLContext], http2: bool) -> ssl.SSLContext:
    return ssl_context if ssl_context is not None else create_ssl_context(http2=http2)


class PoolFacade:
    """httpcore's `ConnectionPool` constructor and attributes over an httpduo pool."""

    # Set by the sync and async classes: httpduo's pool and proxy pool of their side.
    _httpduo_pool_class: ClassVar[Any]
    _httpduo_proxy_pool_class: ClassVar[Any]
    _httpduo_pool: Any
    _ssl_context: Optional[ssl.SSLContext]

    def __init__(
        self,
        ssl_context: Optional[ssl.SSLContext] = None,
        proxy: object = None,
        max_connections: Optional[int] = 10,
        max_keepalive_connections: Optional[int] = None,
        keepalive_expiry: Optional[float] = None,
        http1: bool = True,
        http2: bool = False,
        retries: int = 0,
        local_address: Optional[str] = None,
        uds: Optional[str] = None,
        network_backend: object = None,
        socket_options: Optional[Iterable[Any]] = None,
    ) -> None:
        if proxy is not None:
            raise TypeError(
                "proxy= is not supported by httpduo's httpcore facade; use HTTPProxy or "
                "SOCKSProxy (or httpx's proxy= argument)"
            )
        options = _pool_options(locals())
        self._attach(self._httpduo_pool_class(_default_context(ssl_context, http2), **options))

    @classmethod
    def _wrap(cls, pool: Any) -> Any:
        """The facade over an existing httpduo pool (a transport's)."""
        self = cls.__new__(cls)
        self._attach(pool)
        return self

    def _attach(self, pool: Any) -> None:
        self._httpduo_pool = pool
        self._requests: list[Any] = []
        self._ssl_context = pool._ssl_context
        # httpcore's names for the configuration (read by tests and by subclasses).
        for core_name, httpduo_name in _CONFIGURATION:
            setattr(self, core_name, getattr(pool, httpduo_name))

    @property
    def connections(self) -> list[Any]:
        """The real pool's connections (httpduo's objects), for tests and debugging."""
        return list(self._httpduo_pool.connections)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} over {self._httpduo_pool!r}>"


def _proxy_pool(
    cls: type[PoolFacade],
    proxy: Proxy,
    ssl_context: Optional[ssl.SSLContext],
    proxy_ssl_context: Optional[ssl.SSLContext],
    options: dict[str, Any],
) -> Any:
    return cls._httpduo_proxy_pool_class(
        proxy,
        _default_context(ssl_context, options["http2"]),
        proxy_ssl_context=proxy_ssl_context or create_ssl_context(),
        **options,
    )


def _duo_proxy(
    proxy_url: Union[URL, bytes, str],
    proxy_auth: Optional[tuple[Union[bytes, str], Union[bytes, str]]],
    proxy_headers: HeaderTypes,
    proxy_ssl_context: Optional[ssl.SSLContext],
) -> Proxy:
    url = enforce_url(proxy_url, name="proxy_url")
    auth = None
    if proxy_auth is not None:
        user, password = (
            part.decode("utf-8") if isinstance(part, bytes) else part for part in proxy_auth
        )
        auth = (user, password)
    return Proxy(
        bytes(url).decode("ascii"),
        auth=auth,
        headers=enforce_headers(proxy_headers, name="proxy_headers"),
        ssl_context=proxy_ssl_context,
    )


class HTTPProxyFacade(PoolFacade):
    """httpcore's `HTTPProxy` constructor and attributes over an httpduo proxy pool."""

    _proxy_url: URL
    _proxy_headers: list[tuple[bytes, bytes]]
    _proxy_ssl_context: Optional[ssl.SSLContext]

    def __init__(
        self,
        proxy_url: Union[URL, bytes, str],
        proxy_auth: Optional[tuple[Union[bytes, str], Union[bytes, str]]] = None,
        proxy_headers: HeaderTypes = None,
        ssl_context: Optional[ssl.SSLContext] = None,
        proxy_ssl_context: Optional[ssl.SSLContext] = None,
        max_connections: Optional[int] = 10,
        max_keepalive_connections: Optional[int] = None,
        keepalive_expiry: Optional[float] = None,
        http1: bool = True,
        http2: bool = False,
        retries: int = 0,
        local_address: Optional[str] = None,
        uds: Optional[str] = None,
        network_backend: object = None,
        socket_options: Optional[Iterable[Any]] = None,
    ) -> None:
        proxy = _duo_proxy(proxy_url, proxy_auth, proxy_headers, proxy_ssl_context)
        if proxy.url.scheme not in ("http", "https"):
            raise ValueError(f"HTTPProxy needs an http:// or https:// proxy URL, got {proxy.url}")
        options = _pool_options(locals())
        self._attach(_proxy_pool(type(self), proxy, ssl_context, proxy_ssl_context, options))

    def _attach(self, pool: Any) -> None:
        super()._attach(pool)
        proxy: Proxy = pool.proxy
        self._proxy_url = core_url(proxy.url)
        self._proxy_headers = proxy.request_headers.raw
        self._proxy_ssl_context = proxy.ssl_context


class SOCKSProxyFacade(PoolFacade):
    """httpcore's `SOCKSProxy` constructor and attributes over an httpduo proxy pool."""

    _proxy_url: URL
    _proxy_auth: Optional[tuple[bytes, bytes]]

    def __init__(
        self,
        proxy_url: Union[URL, bytes, str],
        proxy_auth: Optional[tuple[Union[bytes, str], Union[bytes, str]]] = None,
        ssl_context: Optional[ssl.SSLContext] = None,
        max_connections: Optional[int] = 10,
        max_keepalive_connections: Optional[int] = None,
        keepalive_expiry: Optional[float] = None,
        http1: bool = True,
        http2: bool = False,
        retries: int = 0,
        network_backend: object = None,
    ) -> None:
        from httpduo._async._socks import SOCKS_SCHEMES, require_socksio

        proxy = _duo_proxy(proxy_url, proxy_auth, None, None)
        if proxy.url.scheme not in SOCKS_SCHEMES:
            raise ValueError(f"SOCKSProxy needs a socks proxy URL, got {proxy.url}")
        require_socksio()
        options = _pool_options(locals())
        self._attach(_proxy_pool(type(self), proxy, ssl_context, None, options))

    def _attach(self, pool: Any) -> None:
        super()._attach(pool)
        proxy: Proxy = pool.proxy
        self._proxy_url = core_url(proxy.url)
        self._proxy_auth = proxy.raw_auth


class ConnectionFacade(PoolFacade):
    """httpcore's `HTTPConnection`: one origin, at most one connection open at a time.

    Built on a one-connection httpduo pool, so reconnecting after the server closed an
    idle connection and HTTP/2 negotiation behave as on the pool.
    """

    def __init__(
        self,
        origin: Origin,
        ssl_context: Optional[ssl.SSLContext] = None,
        keepalive_expiry: Optional[float] = None,
        http1: bool = True,
        http2: bool = False,
        retries: int = 0,
        local_address: Optional[str] = None,
        uds: Optional[str] = None,
        network_backend: object = None,
        socket_options: Optional[Iterable[Any]] = None,
    ) -> None:
        if not isinstance(origin, Origin):
            raise TypeError(f"origin must be an httpcore Origin, not {type(origin).__name__}")
        self._origin = origin
        super().__init__(
            ssl_context,
            max_connections=1,
            keepalive_expiry=keepalive_expiry,
            http1=http1,
            http2=http2,
            retries=retries,
            local_address=local_address,
            uds=uds,
            network_backend=network_backend,
            socket_options=socket_options,
        )

    def _check_origin(self, url: URL) -> None:
        if url.origin != self._origin:
            raise RuntimeError(
                f"Attempted to send request to {url.origin} on connection to {self._origin}"
            )

    def can_handle_request(self, origin: Origin) -> bool:
        return origin == self._origin

    def is_closed(self) -> bool:
        return bool(self._httpduo_pool._closed)

    def is_idle(self) -> bool:
        connections = self._httpduo_pool.connections
        return bool(connections) and all(c.is_idle() for c in connections)

    def is_available(self) -> bool:
        if self.is_closed():
            return False
        connections = self._httpduo_pool.connections
        return not connections or any(c.is_available() for c in connections)

    def has_expired(self) -> bool:
        # A dropped or expired connection is replaced on the next request, so only a
        # closed facade connection is one its owner must throw away.
        return self.is_closed()

    def info(self) -> str:
        connections = self._httpduo_pool.connections
        return connections[0].info() if connections else "CONNECTING"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self._origin}, {self.info()}]>"


class _InFlight(SyncByteStream, AsyncByteStream):
    """A response body that takes its request off the pool's `_requests` when closed."""

    def __init__(self, stream: Any, requests: list[Any], request: Any) -> None:
        self._stream = stream
        self._requests = requests
        self._request = request

    def _release(self) -> None:
        try:
            self._requests.remove(self._request)
        except ValueError:
            pass  # closed twice

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._stream)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()  # type: ignore[no-any-return]

    def _read_all(self) -> bytes:
        return self._stream._read_all()  # type: ignore[no-any-return]

    async def _aread_all(self) -> bytes:
        return await self._stream._aread_all()  # type: ignore[no-any-return]

    def close(self) -> None:
        self._release()
        self._stream.close()

    async def aclose(self) -> None:
        self._release()
        await self._stream.aclose()


def in_flight_until_closed(requests: list[Any], request: Any, response: Any) -> None:
    """Keep `request` in `requests` until the body of `response` (an httpcore response
    made by the facade, or an httpduo one) is closed, whichever way it is read."""
    made_from = response.__dict__.get("_httpduo")
    duo_response = response if made_from is None else made_from[0]
    tracked = _InFlight(duo_response.stream, requests, request)
    duo_response.stream = tracked
    if made_from is not None:
        response.stream._stream = tracked
