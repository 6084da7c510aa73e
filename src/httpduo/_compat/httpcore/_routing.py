"""Routing httpduo's transports through the httpcore facade, while it is active.

Rules:
- Inactive (the normal case, plain `import httpduo`): nothing here is imported and
  `HTTPTransport` / `AsyncHTTPTransport` are untouched. Requests pay nothing.
- `activate()` (called by `install_as_httpx()` when the `httpcore` alias is first
  imported) swaps three class attributes on each of the two transport classes, and
  `deactivate()` puts the originals back:
  * `handle_request` / `handle_async_request`: converts the httpduo request to an
    httpcore one and hands it to `self._pool.handle_request(...)` — looked up on the
    facade pool's class at call time, so patches there (respx) take effect; converts the
    answer back, mapping httpcore's exceptions to httpduo's as httpx does.
  * `_pool`: a data descriptor. Reading gives the httpcore-shaped facade over the
    transport's real pool (`HTTPProxy`, `SOCKSProxy` or `ConnectionPool` and Async
    twins, built on first use and kept); assigning stores a real pool, or a facade pool
    and its real one. The real pool stays in the instance `__dict__`, so transports made
    before activation route too, and after deactivation every transport reads its own
    pool again.
- Only attributes this module set are restored: a wrapper installed over them later
  (instrumentation wrapping `HTTPTransport.handle_request`) is left in place.
- Transport subclasses that override the request method keep their override.
"""

from __future__ import annotations

from typing import Any, Optional

from httpduo._async._pool import AsyncConnectionPool as DuoAsyncPool
from httpduo._async._proxies import AsyncProxyPool as DuoAsyncProxyPool
from httpduo._async._socks import SOCKS_SCHEMES
from httpduo._async._transport import AsyncHTTPTransport
from httpduo._models._requests import Request as DuoRequest
from httpduo._models._responses import Response as DuoResponse
from httpduo._sync._pool import ConnectionPool as DuoSyncPool
from httpduo._sync._proxies import ProxyPool as DuoSyncProxyPool
from httpduo._sync._transport import HTTPTransport

from ._async.connection_pool import AsyncConnectionPool
from ._async.http_proxy import AsyncHTTPProxy
from ._async.socks_proxy import AsyncSOCKSProxy
from ._convert import to_core_request, to_httpduo_response
from ._exceptions import mapped_to_httpduo
from ._pools import PoolFacade
from ._sync.connection_pool import ConnectionPool
from ._sync.http_proxy import HTTPProxy
from ._sync.socks_proxy import SOCKSProxy

__all__ = ["activate", "deactivate", "facade_pool", "is_active"]

_FACADE_KEY = "_httpcore_facade_pool"


def facade_pool(pool: Any) -> PoolFacade:
    """The facade class matching an httpduo pool, wrapped around it."""
    if isinstance(pool, (DuoSyncProxyPool, DuoAsyncProxyPool)):
        socks = pool.proxy.url.scheme in SOCKS_SCHEMES
        if isinstance(pool, DuoSyncProxyPool):
            cls: type[PoolFacade] = SOCKSProxy if socks else HTTPProxy
        else:
            cls = AsyncSOCKSProxy if socks else AsyncHTTPProxy
    elif isinstance(pool, DuoSyncPool):
        cls = ConnectionPool
    elif isinstance(pool, DuoAsyncPool):
        cls = AsyncConnectionPool
    else:
        raise TypeError(f"No httpcore facade for a pool of type {type(pool).__name__}")
    return cls._wrap(pool)  # type: ignore[no-any-return]


class _PoolAttribute:
    """`HTTPTransport._pool` while active: the facade over the real pool."""

    def __get__(self, transport: Any, owner: Optional[type] = None) -> Any:
        if transport is None:
            return self
        state = transport.__dict__
        try:
            real = state["_pool"]
        except KeyError:
            raise AttributeError("_pool") from None
        facade = state.get(_FACADE_KEY)
        if facade is None or facade._httpduo_pool is not real:
            facade = state[_FACADE_KEY] = facade_pool(real)
        return facade

    def __set__(self, transport: Any, value: Any) -> None:
        state = transport.__dict__
        if isinstance(value, PoolFacade):
            state[_FACADE_KEY] = value
            state["_pool"] = value._httpduo_pool
        else:
            state.pop(_FACADE_KEY, None)
            state["_pool"] = value

    def __delete__(self, transport: Any) -> None:
        transport.__dict__.pop(_FACADE_KEY, None)
        transport.__dict__.pop("_pool", None)


def _handle_request(self: HTTPTransport, request: DuoRequest) -> DuoResponse:
    core_request = to_core_request(request)
    with mapped_to_httpduo(request):
        pool: Any = self._pool
        core_response = pool.handle_request(core_request)
    return to_httpduo_response(core_response, request, sync=True)


async def _handle_async_request(self: AsyncHTTPTransport, request: DuoRequest) -> DuoResponse:
    core_request = to_core_request(request)
    with mapped_to_httpduo(request):
        pool: Any = self._pool
        core_response = await pool.handle_async_request(core_request)
    return to_httpduo_response(core_response, request, sync=False)


_POOL = _PoolAttribute()
# (class, attribute, the facade's value); the originals are saved by activate().
_SWAPS: tuple[tuple[type, str, Any], ...] = (
    (HTTPTransport, "handle_request", _handle_request),
    (HTTPTransport, "_pool", _POOL),
    (AsyncHTTPTransport, "handle_async_request", _handle_async_request),
    (AsyncHTTPTransport, "_pool", _POOL),
)
_MISSING = object()
_saved: dict[tuple[type, str], Any] = {}


def is_active() -> bool:
    return bool(_saved)


def activate() -> None:
    """Route every `HTTPTransport` / `AsyncHTTPTransport` through the facade. Idempotent."""
    if _saved:
        return
    for cls, name, value in _SWAPS:
        _saved[cls, name] = cls.__dict__.get(name, _MISSING)
        setattr(cls, name, value)


def deactivate() -> None:
    """Undo `activate()`: the transports send straight to their pools again."""
    for cls, name, value in _SWAPS:
        original = _saved.pop((cls, name), _MISSING)
        if cls.__dict__.get(name) is not value:
            continue  # wrapped again since: leave the newer wrapper alone
        if original is _MISSING:
            delattr(cls, name)
        else:
            setattr(cls, name, original)
    _saved.clear()
