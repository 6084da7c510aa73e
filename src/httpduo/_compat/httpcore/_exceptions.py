"""httpcore's exception classes, and their mapping to and from httpduo's.

Rules:
- The hierarchy is httpcore's (every class derives from `Exception`, not from httpduo's
  classes): code catching `httpcore.ReadError` must not catch `httpx.ReadError`.
- Inside the facade's pools httpduo's exceptions become these (`to_core()`); at the
  transport boundary these become httpduo's again (`to_httpduo()`), as httpx does with
  httpcore. Each mapping picks the nearest class along the exception's MRO; an exception
  with no counterpart (a user error, `CloseError`) passes through unchanged.
"""

from __future__ import annotations

from types import TracebackType
from typing import Optional

from httpduo._models import _exceptions as duo
from httpduo._models._requests import Request as DuoRequest

__all__ = [
    "ConnectError",
    "ConnectTimeout",
    "ConnectionNotAvailable",
    "LocalProtocolError",
    "NetworkError",
    "PoolTimeout",
    "ProtocolError",
    "ProxyError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "TimeoutException",
    "UnsupportedProtocol",
    "WriteError",
    "WriteTimeout",
    "mapped_to_core",
    "mapped_to_httpduo",
]


class ConnectionNotAvailable(Exception):
    """The connection could not take the request (HTTP/2 GOAWAY, stream limit, ...)."""


class ProxyError(Exception):
    """The proxy refused or failed the request."""


class UnsupportedProtocol(Exception):
    """The URL's scheme is not one the pool speaks."""


class ProtocolError(Exception):
    """The base class for HTTP protocol violations."""


class RemoteProtocolError(ProtocolError):
    """The server broke the protocol."""


class LocalProtocolError(ProtocolError):
    """The client broke the protocol (an invalid request)."""


class TimeoutException(Exception):
    """The base class for timeouts."""


class PoolTimeout(TimeoutException):
    """No connection became free in time."""


class ConnectTimeout(TimeoutException):
    """Connecting took too long."""


class ReadTimeout(TimeoutException):
    """Receiving took too long."""


class WriteTimeout(TimeoutException):
    """Sending took too long."""


class NetworkError(Exception):
    """The base class for network failures."""


class ConnectError(NetworkError):
    """The connection could not be opened."""


class ReadError(NetworkError):
    """Receiving failed."""


class WriteError(NetworkError):
    """Sending failed."""


# httpduo class -> httpcore class (lookups walk the MRO, so order does not matter).
_TO_CORE: dict[type[Exception], type[Exception]] = {
    duo.ConnectTimeout: ConnectTimeout,
    duo.ReadTimeout: ReadTimeout,
    duo.WriteTimeout: WriteTimeout,
    duo.PoolTimeout: PoolTimeout,
    duo.TimeoutException: TimeoutException,
    duo.ConnectError: ConnectError,
    duo.ReadError: ReadError,
    duo.WriteError: WriteError,
    duo.NetworkError: NetworkError,
    duo.ProxyError: ProxyError,
    duo.UnsupportedProtocol: UnsupportedProtocol,
    duo.RemoteProtocolError: RemoteProtocolError,
    duo.LocalProtocolError: LocalProtocolError,
    duo.ProtocolError: ProtocolError,
}
# CloseError has no httpcore counterpart: it stays httpduo's (see the module rules).
_NOT_MAPPED: frozenset[type[BaseException]] = frozenset({duo.CloseError})
_TO_HTTPDUO: dict[type[Exception], type[Exception]] = {
    core: httpduo for httpduo, core in _TO_CORE.items()
}


def _lookup(
    exc: BaseException, table: dict[type[Exception], type[Exception]]
) -> Optional[type[Exception]]:
    for cls in type(exc).__mro__:
        if cls in _NOT_MAPPED:
            return None
        target = table.get(cls)
        if target is not None:
            return target
    return None


class _MappedToCore:
    """See `mapped_to_core()`. (Classes, not generator-based context managers: they run
    on every request that crosses the facade.)"""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        if isinstance(exc, duo.TransportError):
            target = _lookup(exc, _TO_CORE)
            if target is not None:
                raise target(str(exc)) from exc


_MAPPED_TO_CORE = _MappedToCore()


def mapped_to_core() -> _MappedToCore:
    """`with mapped_to_core():` raise httpduo transport errors leaving the block as their
    httpcore counterparts."""
    return _MAPPED_TO_CORE


class _MappedToHttpduo:
    """See `mapped_to_httpduo()`."""

    __slots__ = ("_request",)

    def __init__(self, request: Optional[DuoRequest]) -> None:
        self._request = request

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        if exc is None or not isinstance(exc, Exception):
            return
        target = _lookup(exc, _TO_HTTPDUO)
        if target is None:
            duo.attach_request(exc, self._request)
            return
        assert issubclass(target, duo.TransportError)
        raise target(str(exc), request=self._request) from exc


def mapped_to_httpduo(request: Optional[DuoRequest]) -> _MappedToHttpduo:
    """`with mapped_to_httpduo(request):` raise httpcore errors leaving the block as
    httpduo's, carrying `request`; httpduo's own errors get `request` attached."""
    return _MappedToHttpduo(request)
