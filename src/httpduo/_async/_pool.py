"""The connection pool: lends connections to requests within `Limits`.

Rules:
- Decide under the lock, do I/O outside it. Every locked section is synchronous (no
  I/O inside), it returns the connections to close, and they are closed after.
- Idle connections are indexed by origin, so finding one never scans the pool.
  Reuse is LIFO (the warmest socket first); eviction takes the oldest idle one.
- HTTP/2 connections are lent per stream: the pool reserves one of a connection's
  streams for each request routed to it, so a connection counts as capacity until the
  server's MAX_CONCURRENT_STREAMS is reached, and idles (keep-alive expiry counting)
  once its last stream is released. They are indexed by origin too, oldest first, so a
  burst fills one connection before a second is opened.
- Handling a request, the pool first lets its idle HTTP/2 connections answer what their
  server sent meanwhile (a PING), at most once per IDLE_SWEEP_INTERVAL: no background task.
  Those that turn out dead (a GOAWAY, EOF or protocol error arrived) are closed then.
- While a connection that may turn out HTTP/2 is being opened for an origin, further
  requests for that origin wait for it instead of opening their own; once it is known
  to be HTTP/1.1 they (and later requests to that origin) proceed as usual.
- Waiters are served FIFO: a request that finds no connection for its origin and no
  free slot queues, and a slot freed later goes to the oldest waiter. Waiters held only
  by an origin's opening connection do not hold up the others.
- Cancellation-safe: a request cancelled while waiting, connecting, sending or reading
  gives back whatever it held — a waiter slot, a connection being opened, a
  connection mid-response (closed, since its framing is lost), an HTTP/2 stream.
- A request that fails on a reused keep-alive HTTP/1.1 connection before any response
  byte arrived is retried once on a fresh connection when its method is idempotent and
  its body can be sent again: the server most likely closed the idle connection.
  Such a request takes a reused connection on what the event loop already knows of it
  (an EOF it has seen); only a request that cannot be resent pays for asking the
  socket (a zero-timeout poll) each time it reuses one.
- A connection that could not take a request (HTTP/2 GOAWAY, a refused stream, no
  stream left) raises `ConnectionNotAvailable`; the request is routed again, a bounded
  number of times, and that exception never reaches the caller. One that went away
  before answering a request on a connection that had answered before is treated like
  a stale HTTP/1.1 connection: routed again only when resending is harmless.
"""

from __future__ import annotations

import logging
import ssl
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import Final, Optional, Union

from httpduo._backends.base import AsyncEvent, AsyncNetworkBackend
from httpduo._backends.mutex import AsyncMutex
from httpduo._codecs.select import CodecFactory
from httpduo._models._exceptions import (
    PoolTimeout,
    ReadError,
    RemoteProtocolError,
    UnsupportedProtocol,
    WriteError,
)
from httpduo._models._requests import Request
from httpduo._models._responses import Response
from httpduo._models._streams import AsyncByteStream, ByteStream
from httpduo._models._urls import URL

from ._base_transport import AsyncBaseTransport
from ._connection import AsyncHTTPConnection, ConnectionNotAvailable, Origin, SocketOption

__all__ = ["AsyncConnectionPool"]

logger = logging.getLogger("httpduo.pool")

DEFAULT_PORTS: Final = {b"http": 80, b"https": 443, b"ws": 80, b"wss": 443}
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
# How many times one request may be routed again after ConnectionNotAvailable.
MAX_REROUTES: Final = 8
# Idle HTTP/2 connections answer what came meanwhile (a PING) at most this often.
IDLE_SWEEP_INTERVAL: Final = 1.0


class _Waiter:
    """A request queued for a connection; the pool hands it one and sets the event."""

    __slots__ = ("connection", "event", "origin")

    def __init__(self, origin: Origin, event: AsyncEvent) -> None:
        self.origin = origin
        self.event = event
        self.connection: Optional[AsyncHTTPConnection] = None


def _default_backend() -> AsyncNetworkBackend:
    # Imported here so that `import httpduo` never imports anyio. Chosen on the first
    # request, inside the event loop: the native asyncio backend under asyncio, anyio's
    # under trio (HTTPDUO_ASYNC_BACKEND=anyio forces anyio).
    from httpduo._backends.anyio import default_backend

    return default_backend()


class AsyncConnectionPool(AsyncBaseTransport):
    """A pool of HTTP connections, shared by the requests of one transport."""

    def __init__(
        self,
        ssl_context: Optional[ssl.SSLContext] = None,
        *,
        max_connections: Optional[int] = 10,
        max_keepalive_connections: Optional[int] = None,
        keepalive_expiry: Optional[float] = None,
        http1: bool = True,
        http2: bool = False,
        retries: int = 0,
        local_address: Optional[str] = None,
        uds: Optional[str] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
        network_backend: Optional[AsyncNetworkBackend] = None,
        codec_factory: Optional[CodecFactory] = None,
    ) -> None:
        self._ssl_context = ssl_context
        self._max_connections = max_connections
        self._max_keepalive = max_keepalive_connections
        self._keepalive_expiry = keepalive_expiry
        self._http1 = http1
        self._http2 = http2
        self._retries = retries
        self._local_address = local_address
        self._uds = uds
        self._socket_options = None if socket_options is None else list(socket_options)
        self._backend = network_backend
        self._codec_factory = codec_factory
        self._lock = AsyncMutex()
        # Every connection the pool owns: connecting, active and idle.
        self._connections: dict[AsyncHTTPConnection, None] = {}
        # Idle connections per origin (LIFO) and in idle order across origins (FIFO).
        self._idle: dict[Origin, list[AsyncHTTPConnection]] = {}
        self._idle_order: dict[AsyncHTTPConnection, None] = {}
        # HTTP/2 connections per origin, oldest first, active or idle.
        self._multiplexed: dict[Origin, dict[AsyncHTTPConnection, None]] = {}
        # The connection being opened for an origin where it may turn out HTTP/2.
        self._opening: dict[Origin, AsyncHTTPConnection] = {}
        # Origins whose server picked HTTP/1.1 although HTTP/2 was offered.
        self._http11_origins: set[Origin] = set()
        self._waiters: deque[_Waiter] = deque()
        self._closed = False
        self._next_sweep = 0.0

    # ---- introspection -------------------------------------------------------------

    @property
    def connections(self) -> list[AsyncHTTPConnection]:
        """A snapshot of the pool's connections (for tests and debugging)."""
        with self._lock:
            return list(self._connections)

    @property
    def num_waiting(self) -> int:
        """How many requests are queued waiting for a connection."""
        return len(self._waiters)

    def _get_backend(self) -> AsyncNetworkBackend:
        if self._backend is None:
            self._backend = _default_backend()
        return self._backend

    # ---- the request path ----------------------------------------------------------

    async def handle_async_request(self, request: Request) -> Response:
        origin = self._route(request.url)
        timeouts = request.extensions.get("timeout") or {}
        backend = self._get_backend()

        if self._multiplexed and backend.time() >= self._next_sweep:
            with self._lock:
                self._next_sweep = backend.time() + IDLE_SWEEP_INTERVAL
                idle = [c for c in self._idle_order if c.is_multiplexed]
            for connection in idle:
                await connection.answer_idle()
            await self._drop_unavailable(idle, backend)

        retried = False
        reroutes = 0
        while True:
            # A request that would be resent if its reused connection turns out closed
            # does not need the socket asked first (see `_should_retry`).
            probe = retried or not self._may_resend(request)
            connection = await self._acquire(origin, timeouts.get("pool"), backend, probe)
            try:
                protocol = connection.protocol
                if protocol is None:
                    await connection.connect(request)
                    await self._connected(connection, backend)
                    protocol = connection.protocol
                    assert protocol is not None
                response = await protocol.handle_async_request(request)
            except ConnectionNotAvailable as exc:
                await self._release(connection)
                if exc.error is not None and not self._may_resend(request):
                    raise exc.error from None
                reroutes += 1
                if reroutes > MAX_REROUTES:
                    raise RemoteProtocolError(
                        f"No connection could take the request after {reroutes} attempts; "
                        f"last: {exc}"
                    ) from None
                logger.debug("routing %r to another connection: %s", request, exc)
                continue
            except BaseException as exc:
                await self._release(connection)
                if not retried and self._should_retry(connection, request, exc):
                    retried = True
                    logger.debug("retrying %r on a new connection after %r", request, exc)
                    continue
                raise
            response.stream = PoolResponseStream(response.stream, self, connection)
            return response

    async def _drop_unavailable(
        self, connections: list[AsyncHTTPConnection], backend: AsyncNetworkBackend
    ) -> None:
        """Close those of the idle `connections` the server has given up on (GOAWAY, a
        closed socket, a protocol error found by the sweep): their slots are free again."""
        to_close: list[AsyncHTTPConnection] = []
        with self._lock:
            for connection in connections:
                if connection in self._idle_order and not connection.is_available():
                    self._forget(connection)
                    to_close.append(connection)
            if to_close:
                to_close.extend(self._assign_waiters(backend))
        if to_close:
            await self._close_connections(to_close)

    def _route(self, url: URL) -> Origin:
        """The pool key of `url`: (scheme, host, port), the port always explicit."""
        scheme = url.raw_scheme
        if scheme not in (b"http", b"https"):
            if not scheme:
                raise UnsupportedProtocol(
                    "Request URL is missing an 'http://' or 'https://' protocol."
                )
            raise UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{url.scheme}://'."
            )
        host = url.raw_host
        if not host:
            raise UnsupportedProtocol(f"Request URL {str(url)!r} has no host.")
        return (scheme, host, url.port or DEFAULT_PORTS[scheme])

    def _create_connection(
        self, origin: Origin, backend: AsyncNetworkBackend
    ) -> AsyncHTTPConnection:
        """A new, not yet connected connection to `origin` (a hook for other pools)."""
        return AsyncHTTPConnection(
            origin,
            backend,
            ssl_context=self._ssl_context,
            keepalive_expiry=self._keepalive_expiry,
            http1=self._http1,
            http2=self._http2,
            retries=self._retries,
            local_address=self._local_address,
            uds=self._uds,
            socket_options=self._socket_options,
            codec_factory=self._codec_factory,
        )

    @staticmethod
    def _may_resend(request: Request) -> bool:
        """Sending `request` twice is harmless, and its body can be sent again."""
        # Exactly ByteStream: a subclass may iterate a one-shot source of its own.
        return request.method in IDEMPOTENT_METHODS and type(request.stream) is ByteStream

    @classmethod
    def _should_retry(
        cls, connection: AsyncHTTPConnection, request: Request, exc: BaseException
    ) -> bool:
        return (
            isinstance(exc, (ReadError, WriteError, RemoteProtocolError))
            and not connection.is_multiplexed
            and connection.request_count > 1
            and not connection.response_started
            and cls._may_resend(request)
        )

    async def _acquire(
        self,
        origin: Origin,
        timeout: Optional[float],
        backend: AsyncNetworkBackend,
        probe: bool = True,
    ) -> AsyncHTTPConnection:
        now = backend.time()
        deadline = None if timeout is None else now + timeout
        while True:
            to_close: list[AsyncHTTPConnection] = []
            with self._lock:
                if self._closed:
                    raise RuntimeError("The connection pool was closed; no more requests.")
                lease = self._lease_or_queue(origin, backend, now, to_close)
            if to_close:
                await self._close_connections(to_close)

            if isinstance(lease, _Waiter):
                remaining = None if deadline is None else max(deadline - backend.time(), 0.0)
                connection = await self._wait(lease, remaining, timeout)
                now = backend.time()
            else:
                connection = lease

            # Liveness of a reused HTTP/1.1 connection is checked outside the lock: it asks
            # the socket. (A reused HTTP/2 one checks itself before opening a stream.)
            if (
                not connection.is_multiplexed
                and connection.is_idle()
                and connection.has_expired(now, probe)
            ):
                with self._lock:
                    self._forget(connection)
                    to_close = self._assign_waiters(backend)
                to_close.append(connection)
                await self._close_connections(to_close)
                now = backend.time()
                continue
            return connection

    def _lease_or_queue(
        self,
        origin: Origin,
        backend: AsyncNetworkBackend,
        now: float,
        to_close: list[AsyncHTTPConnection],
    ) -> Union[AsyncHTTPConnection, _Waiter]:
        """Under the lock: a stream or idle connection for `origin`, a new connection if a
        slot is free and nobody queues ahead, or else a place in the queue."""
        if not self._waiters:
            connection = self._lease_multiplexed(origin, now, to_close)
            if connection is None:
                connection = self._pop_idle(origin, now, to_close)
            if connection is None and origin not in self._opening:
                connection = self._new_connection(origin, backend, to_close)
            if connection is not None:
                return connection
        waiter = _Waiter(origin, backend.create_event())
        self._waiters.append(waiter)
        if len(self._waiters) > 1:
            # Others queue already: the same FIFO rules decide for this one.
            to_close.extend(self._assign_waiters(backend))
        return waiter

    async def _wait(
        self, waiter: _Waiter, remaining: Optional[float], timeout: Optional[float]
    ) -> AsyncHTTPConnection:
        """Wait in the queue until the pool hands `waiter` a connection."""
        try:
            if not await waiter.event.wait(remaining):
                raise PoolTimeout(
                    f"Timed out after {timeout}s waiting for a connection from the "
                    f"pool (max_connections={self._max_connections})."
                )
        except BaseException:
            await self._abandon(waiter)
            raise
        if waiter.connection is None:
            raise RuntimeError("The connection pool was closed while waiting.")
        return waiter.connection

    def _pop_idle(
        self, origin: Origin, now: float, to_close: list[AsyncHTTPConnection]
    ) -> Optional[AsyncHTTPConnection]:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            del self._idle_order[connection]
            if connection.keepalive_expired(now):
                self._forget(connection)
                to_close.append(connection)
                continue
            return connection
        return None

    def _lease_multiplexed(
        self, origin: Origin, now: float, to_close: list[AsyncHTTPConnection]
    ) -> Optional[AsyncHTTPConnection]:
        """Under the lock: reserve a stream on an HTTP/2 connection to `origin`."""
        connections = self._multiplexed.get(origin)
        if not connections:
            return None
        chosen = None
        stale = []
        for connection in connections:
            if connection.stream_capacity() <= 0:
                continue
            if connection in self._idle_order:
                if connection.has_expired(now):
                    stale.append(connection)
                    continue
                del self._idle_order[connection]
            connection.reserve_stream()
            chosen = connection
            break
        for connection in stale:
            self._forget(connection)
            to_close.append(connection)
        return chosen

    def _new_connection(
        self, origin: Origin, backend: AsyncNetworkBackend, to_close: list[AsyncHTTPConnection]
    ) -> Optional[AsyncHTTPConnection]:
        if self._max_connections is not None and len(self._connections) >= self._max_connections:
            if not self._idle_order:
                return None
            # Full, but an idle connection to another origin can make room.
            oldest = next(iter(self._idle_order))
            self._forget(oldest)
            to_close.append(oldest)
        connection = self._create_connection(origin, backend)
        self._connections[connection] = None
        if connection.may_multiplex and origin not in self._http11_origins:
            self._opening[origin] = connection
        return connection

    async def _connected(
        self, connection: AsyncHTTPConnection, backend: AsyncNetworkBackend
    ) -> None:
        """`connection` just connected: index it by protocol and serve its origin's waiters."""
        to_close: list[AsyncHTTPConnection] = []
        with self._lock:
            origin = connection.origin
            was_opening = self._opening.get(origin) is connection
            if was_opening:
                del self._opening[origin]
            if connection.is_multiplexed:
                self._http11_origins.discard(origin)
                connection.reserve_stream()  # the stream of the request that opened it
                if connection in self._connections:
                    self._multiplexed.setdefault(origin, {})[connection] = None
            elif connection.may_multiplex:
                self._http11_origins.add(origin)
            if was_opening or connection.is_multiplexed:
                # Its origin's waiters may now share it, or go ahead and open their own.
                to_close = self._assign_waiters(backend)
        if to_close:
            await self._close_connections(to_close)

    def _forget(self, connection: AsyncHTTPConnection) -> None:
        """Under the lock: drop every reference the pool holds to `connection`."""
        origin = connection.origin
        self._connections.pop(connection, None)
        if self._opening.get(origin) is connection:
            del self._opening[origin]
        if connection.is_multiplexed:
            self._idle_order.pop(connection, None)
            multiplexed = self._multiplexed.get(origin)
            if multiplexed is not None and connection in multiplexed:
                del multiplexed[connection]
                if not multiplexed:
                    del self._multiplexed[origin]
        elif connection in self._idle_order:
            del self._idle_order[connection]
            idle = self._idle[origin]
            idle.remove(connection)
            if not idle:
                del self._idle[origin]

    def _assign_waiters(self, backend: AsyncNetworkBackend) -> list[AsyncHTTPConnection]:
        """Under the lock: hand streams, idle connections and free slots to waiters, FIFO."""
        to_close: list[AsyncHTTPConnection] = []
        if not self._waiters:
            return to_close
        now = backend.time()
        blocked = False
        # Origins for which nothing more can be found in this pass.
        exhausted: set[Origin] = set()
        for waiter in list(self._waiters):
            origin = waiter.origin
            if origin in exhausted:
                continue
            connection = self._lease_multiplexed(origin, now, to_close)
            if connection is None:
                connection = self._pop_idle(origin, now, to_close)
            if connection is None:
                if origin in self._opening:
                    # Waits for the connection being opened; holds up nobody else.
                    exhausted.add(origin)
                    continue
                # Once the oldest waiter cannot get a slot, later ones may still take a
                # stream or an idle connection of their own origin, but never a slot
                # ahead of it.
                if not blocked:
                    connection = self._new_connection(origin, backend, to_close)
                    blocked = connection is None
                if connection is None:
                    exhausted.add(origin)
                    continue
            self._waiters.remove(waiter)
            waiter.connection = connection
            waiter.event.set()
        return to_close

    async def _abandon(self, waiter: _Waiter) -> None:
        """A waiter gave up (timeout, cancellation): undo whatever it was given."""
        backend = self._get_backend()
        with self._lock:
            connection = waiter.connection
            if connection is None:
                self._waiters.remove(waiter)
                return
            to_close = self._checkin(connection, backend)
        await self._close_connections(to_close)

    async def _release(self, connection: AsyncHTTPConnection) -> None:
        """A request is done with `connection` (its response closed, or it failed)."""
        backend = self._get_backend()
        with self._lock:
            to_close = self._checkin(connection, backend)
        if to_close:
            await self._close_connections(to_close)

    def _checkin(
        self, connection: AsyncHTTPConnection, backend: AsyncNetworkBackend
    ) -> list[AsyncHTTPConnection]:
        """Under the lock: return a lent connection (or stream), then serve the waiters."""
        to_close: list[AsyncHTTPConnection] = []
        if connection not in self._connections:
            # Already forgotten: the pool was closed meanwhile and closed it too.
            return to_close
        if connection.is_multiplexed:
            if connection.release_stream(backend.time()) == 0:
                if connection.is_available() and not self._closed:
                    self._idle_order[connection] = None
                    self._evict_over_keepalive(to_close)
                else:
                    # Failed, closed or told to go away: done once its last stream is.
                    self._forget(connection)
                    to_close.append(connection)
        elif connection.is_idle() and not self._closed:
            idle = self._idle.get(connection.origin)
            if idle is None:
                self._idle[connection.origin] = [connection]
            else:
                idle.append(connection)
            self._idle_order[connection] = None
            if self._max_keepalive is not None:
                self._evict_over_keepalive(to_close)
        else:
            # Closed, failed, mid-response, or never connected (its request gave up
            # before opening it): the slot is freed and the next waiter opens its own.
            self._forget(connection)
            to_close.append(connection)
        if self._waiters:
            to_close.extend(self._assign_waiters(backend))
        return to_close

    def _evict_over_keepalive(self, to_close: list[AsyncHTTPConnection]) -> None:
        if self._max_keepalive is not None and len(self._idle_order) > self._max_keepalive:
            oldest = next(iter(self._idle_order))
            self._forget(oldest)
            to_close.append(oldest)

    @staticmethod
    async def _close_connections(connections: list[AsyncHTTPConnection]) -> None:
        for connection in connections:
            await connection.aclose()

    async def aclose(self) -> None:
        """Close every connection; requests in flight fail, waiting ones get errors."""
        with self._lock:
            self._closed = True
            to_close = list(self._connections)
            self._connections.clear()
            self._idle.clear()
            self._idle_order.clear()
            self._multiplexed.clear()
            self._opening.clear()
            waiters = list(self._waiters)
            self._waiters.clear()
        for waiter in waiters:
            waiter.event.set()  # wakes with connection None: _acquire raises below
        await self._close_connections(to_close)

    def __repr__(self) -> str:
        with self._lock:
            active = sum(1 for c in self._connections if not c.is_idle())
            idle = len(self._idle_order)
        return (
            f"<{type(self).__name__} [Requests: {len(self._waiters)} waiting, "
            f"Connections: {active} active, {idle} idle]>"
        )


class PoolResponseStream(AsyncByteStream):
    """Wraps a response body so the connection returns to the pool when it is closed."""

    def __init__(
        self, stream: object, pool: AsyncConnectionPool, connection: AsyncHTTPConnection
    ) -> None:
        assert isinstance(stream, AsyncByteStream)
        self._stream: AsyncByteStream = stream
        self._chunks: Optional[AsyncIterator[bytes]] = None
        self._pool = pool
        self._connection = connection
        self._closed = False

    def __aiter__(self) -> PoolResponseStream:
        return self

    async def __anext__(self) -> bytes:
        # An iterator, not a generator: an abandoned response leaves nothing to finalise.
        try:
            chunks = self._chunks
            if chunks is None:
                chunks = self._chunks = self._stream.__aiter__()
            return await chunks.__anext__()
        except StopAsyncIteration:
            raise
        except BaseException:
            await self.aclose()
            raise

    async def _aread_all(self) -> bytes:
        try:
            return await self._stream._aread_all()
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._stream.aclose()
        finally:
            await self._pool._release(self._connection)
