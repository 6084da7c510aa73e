"""What the facade's `HTTP11Connection` and `HTTP2Connection` (sync and async) share.

Rules:
- As in httpcore, these speak one protocol over a network stream the caller already
  opened (`origin`, `stream`, `keepalive_expiry`); the protocol work is httpduo's own
  HTTP/1.1 or HTTP/2 connection, driven over that stream through `_network.py`'s
  adapter. They are what code subclassing httpcore's pool (httpx-socks) builds on.
- httpduo's connection is created on the first request, inside the caller's event loop
  (the async backend is chosen there, as httpduo's pool does); an HTTP/2 connection
  also sends its preface then, once, under a lock the first requests share.
- Before that first request the answers are a new connection's: available, not idle,
  not closed, not expired.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ._models import URL, Origin

__all__ = ["ConnectionQuestions", "ProtocolFacade"]


class ConnectionQuestions:
    """What httpcore's pool asks a connection, the same for sync and async ones."""

    def info(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} does not implement info()")

    def can_handle_request(self, origin: Any) -> bool:
        raise NotImplementedError(f"{type(self).__name__} does not implement can_handle_request()")

    def is_available(self) -> bool:
        raise NotImplementedError(f"{type(self).__name__} does not implement is_available()")

    def has_expired(self) -> bool:
        raise NotImplementedError(f"{type(self).__name__} does not implement has_expired()")

    def is_idle(self) -> bool:
        raise NotImplementedError(f"{type(self).__name__} does not implement is_idle()")

    def is_closed(self) -> bool:
        raise NotImplementedError(f"{type(self).__name__} does not implement is_closed()")


class ProtocolFacade:
    """httpcore's protocol-connection constructor and questions over httpduo's."""

    # Set by each concrete class: builds httpduo's connection from (stream, keepalive).
    _make_connection: Callable[[Any, Optional[float]], Any]

    def __init__(
        self, origin: Origin, stream: Any, keepalive_expiry: Optional[float] = None
    ) -> None:
        if not isinstance(origin, Origin):
            raise TypeError(f"origin must be an httpcore Origin, not {type(origin).__name__}")
        self._origin = origin
        self._network_stream = stream
        self._keepalive_expiry = keepalive_expiry
        self._connection: Any = None

    def _protocol(self, url: URL) -> Any:
        if url.origin != self._origin:
            raise RuntimeError(
                f"Attempted to send request to {url.origin} on connection to {self._origin}"
            )
        if self._connection is None:
            self._connection = type(self)._make_connection(
                self._network_stream, self._keepalive_expiry
            )
        return self._connection

    def can_handle_request(self, origin: Origin) -> bool:
        return origin == self._origin

    def is_available(self) -> bool:
        return self._connection is None or bool(self._connection.is_available())

    def is_idle(self) -> bool:
        return self._connection is not None and bool(self._connection.is_idle())

    def is_closed(self) -> bool:
        return self._connection is not None and bool(self._connection.is_closed())

    def has_expired(self) -> bool:
        connection = self._connection
        if connection is None:
            return False
        return bool(connection.has_expired(connection._backend.time()))

    def info(self) -> str:
        return "NEW" if self._connection is None else str(self._connection.info())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self._origin}, {self.info()}]>"
