"""`ASGITransport`: sends requests straight to an ASGI 3 application, in process.

Rules:
- The scope mirrors httpx: http_version "1.1", lower-cased header names as raw bytes,
  percent-decoded `path`, `raw_path` without the query, `server` (with the scheme's
  default port filled in), `client` and `root_path` as configured, no extensions.
- `receive()` hands out the request body as it is read from the request stream (an
  in-memory body is one message), then blocks until the response is complete or the
  client has gone, and answers `http.disconnect` from then on.
- Two ways to run the app:
  * Default (httpx's way): the app runs to completion in the caller's own task (so it
    shares the caller's context variables and task identity) and its body is collected
    in memory before the response is returned. Nothing is spawned, nothing outlives the
    call, and a response that never ends (server-sent events) never returns.
  * `streaming=True` (an httpduo addition): the app runs in a task group that lives
    while the transport is open (`async with AsyncClient(transport=...)` or
    `async with transport`, entered and left in the same task); the response is returned
    as soon as `http.response.start` arrives and its body chunks are handed over one by
    one, with backpressure (a zero-size channel). Closing the response before the body is
    complete cancels the app; a body read to its end ends when the app has returned (so
    work it does after the last chunk is finished, as with httpx). Leaving the transport
    cancels apps still running. A task group cannot outlive the request otherwise without
    breaking cancel-scope nesting, which is why this is opt-in.
- App exceptions: with `raise_app_exceptions=True` they propagate unchanged, from
  `handle_async_request()` or, once streaming, from reading the body. With False, an
  exception before `http.response.start` gives an empty 500 response, and one after it
  ends the body where it stopped (httpx's behaviour).
- anyio is reached only through `httpduo._backends.anyio`, imported when first needed, so
  `import httpduo` never imports it.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Coroutine, MutableMapping
from types import TracebackType
from typing import Any, Callable, Dict, List, Optional, Protocol, Set, Tuple, TypeVar, Union

from .._async._base_transport import AsyncBaseTransport
from .._models._headers import Headers
from .._models._requests import Request
from .._models._responses import Response
from .._models._streams import AsyncByteStream, ByteStream, ensure_bytes_chunk

__all__ = ["ASGITransport"]

ASGIScope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
ASGIReceive = Callable[[], Awaitable[ASGIMessage]]
ASGISend = Callable[[ASGIMessage], Awaitable[None]]
ASGIApp = Callable[[ASGIScope, ASGIReceive, ASGISend], Awaitable[None]]

_T = TypeVar("_T", bound="ASGITransport")

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_DISCONNECT: Dict[str, Any] = {"type": "http.disconnect"}


# -- the few anyio shapes used here, typed structurally so anyio stays unimported ----------


class _CancelScope(Protocol):
    def cancel(self) -> None: ...


class _TaskGroup(Protocol):
    @property
    def cancel_scope(self) -> Any: ...

    def start_soon(self, func: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> Any: ...

    async def __aenter__(self) -> Any: ...

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> Optional[bool]: ...


class _Sender(Protocol):
    async def send(self, item: _Item) -> None: ...

    def close(self) -> None: ...


class _Receiver(Protocol):
    def __aiter__(self) -> AsyncIterator[_Item]: ...

    def clone(self) -> _Receiver: ...

    def close(self) -> None: ...


class _ResponseStart:
    __slots__ = ("headers", "status")

    def __init__(self, status: int, headers: Headers) -> None:
        self.status = status
        self.headers = headers


_Item = Union[_ResponseStart, bytes]


class _Signal:
    """A one-shot event: closing a memory stream's only sender wakes every waiter."""

    __slots__ = ("_is_set", "_receiver", "_sender")

    def __init__(self) -> None:
        self._is_set = False
        self._sender: Optional[_Sender] = None
        self._receiver: Optional[_Receiver] = None

    def set(self) -> None:
        self._is_set = True
        if self._sender is not None:
            self._sender.close()

    async def wait(self) -> None:
        if self._is_set:
            return
        if self._receiver is None:
            from .._backends.anyio import create_memory_object_stream

            sender: _Sender
            receiver: _Receiver
            sender, receiver = create_memory_object_stream(0)
            self._sender, self._receiver = sender, receiver
        # A clone per waiter: close() may close the original while waiters are woken.
        receiver = self._receiver.clone()
        try:
            async for _ in receiver:
                pass  # nothing is ever sent: the loop ends when the sender closes
        finally:
            receiver.close()

    def close(self) -> None:
        self.set()
        if self._receiver is not None:
            self._receiver.close()


# -- one request's exchange with the app ----------------------------------------------------


class _Exchange:
    """The state `receive()` and `send()` share for one request."""

    __slots__ = (
        "_body",
        "_cancel_requested",
        "_cancel_scope",
        "_channel",
        "_discard_body",
        "_request_done",
        "client_gone",
        "complete",
        "disconnected",
        "done",
        "error",
        "finished",
        "headers",
        "parts",
        "status",
    )

    def __init__(self, request: Request) -> None:
        stream = request.stream
        if not isinstance(stream, AsyncIterable):
            raise RuntimeError(
                "ASGITransport needs a request body it can read asynchronously (an "
                f"AsyncByteStream), not {type(stream).__name__!r}."
            )
        self._body: Union[ByteStream, AsyncIterator[bytes], None] = (
            stream if type(stream) is ByteStream else stream.__aiter__()
        )
        self._request_done = False
        self._discard_body = request.method == "HEAD"
        # Streaming mode: where the response goes, chunk by chunk; None: collect it.
        self._channel: Optional[_Sender] = None
        self._cancel_scope: Optional[_CancelScope] = None
        self._cancel_requested = False
        self.status: Optional[int] = None
        self.headers: Optional[Headers] = None
        self.parts: List[bytes] = []
        self.complete = False  # the app sent its last body message
        self.client_gone = False  # the response was closed before that
        self.finished = False  # the app has returned (streaming mode)
        self.error: Optional[Exception] = None
        self.disconnected = _Signal()  # the response is complete, or the client is gone
        self.done = _Signal()  # the app has returned (streaming mode)

    async def receive(self) -> ASGIMessage:
        if self.client_gone:
            return dict(_DISCONNECT)
        if not self._request_done:
            body = self._body
            if isinstance(body, ByteStream):  # only ever exactly one (see __init__)
                self._request_done = True
                self._body = None
                return {"type": "http.request", "body": b"".join(body), "more_body": False}
            if body is not None:
                try:
                    chunk = await body.__anext__()
                except StopAsyncIteration:
                    pass
                else:
                    return {"type": "http.request", "body": chunk, "more_body": True}
            self._request_done = True
            self._body = None
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.disconnected.wait()
        return dict(_DISCONNECT)

    async def send(self, message: ASGIMessage) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.status is not None:
                raise RuntimeError("The ASGI app sent 'http.response.start' twice.")
            status = message["status"]
            if type(status) is not int:
                raise TypeError(
                    f"The ASGI 'http.response.start' status must be an int, not {status!r}."
                )
            headers = Headers([tuple(pair) for pair in message.get("headers", ())])
            self.status = status
            self.headers = headers
            if self._channel is not None:
                await self._deliver(_ResponseStart(status, headers))
        elif kind == "http.response.body":
            if self.status is None:
                raise RuntimeError(
                    "The ASGI app sent 'http.response.body' before 'http.response.start'."
                )
            if self.complete:
                raise RuntimeError(
                    "The ASGI app sent 'http.response.body' after its last one "
                    "(more_body was false)."
                )
            body = message.get("body", b"")
            if body and not self._discard_body:
                chunk = ensure_bytes_chunk(body)
                if self._channel is not None:
                    await self._deliver(chunk)
                else:
                    self.parts.append(chunk)
            if not message.get("more_body", False):
                self.complete = True
                self.disconnected.set()
        # Other message types belong to extensions the scope does not offer: ignored.

    async def _deliver(self, item: _Item) -> None:
        channel = self._channel
        assert channel is not None
        # Once the client is gone the app has been cancelled, and this send's checkpoint
        # delivers that; OSError (ASGI's "disconnected") only if the reader is closed.
        try:
            await channel.send(item)
        except Exception as exc:  # the response's receiving end is closed
            raise OSError("The client closed the response; nothing more can be sent.") from exc

    # -- streaming mode: the app task's cancel scope ------------------------------------

    def bind(self, scope: _CancelScope) -> bool:
        """Adopt the app task's cancel scope; False if the app is already unwanted."""
        self._cancel_scope = scope
        return not self._cancel_requested

    def cancel(self) -> None:
        if self.finished or self._cancel_requested:
            return
        self._cancel_requested = True
        if self._cancel_scope is not None:
            self._cancel_scope.cancel()

    def finish(self) -> None:
        self.finished = True
        self.disconnected.close()
        self.done.close()
        if self._channel is not None:
            self._channel.close()


class _ASGIResponseStream(AsyncByteStream):
    """Body chunks as the app sends them (streaming mode)."""

    __slots__ = ("_closed", "_ended", "_exchange", "_items", "_raise_errors", "_receiver")

    def __init__(self, exchange: _Exchange, receiver: _Receiver, raise_errors: bool) -> None:
        self._exchange = exchange
        self._receiver = receiver
        self._raise_errors = raise_errors
        self._closed = False
        self._items: Optional[AsyncIterator[_Item]] = None
        self._ended = False

    # Its own iterator, not an async generator: a response abandoned mid-body leaves
    # nothing for the garbage collector; aclose() stops the app.
    def __aiter__(self) -> _ASGIResponseStream:
        return self

    async def __anext__(self) -> bytes:
        if self._ended:
            raise StopAsyncIteration
        exchange = self._exchange
        try:
            if self._items is None:
                self._items = self._receiver.__aiter__()
            while True:
                item = await self._items.__anext__()
                if isinstance(item, bytes):
                    return item
        except StopAsyncIteration:
            self._ended = True
        except BaseException:
            # The reader gave up (error, cancellation): the app is not needed.
            self._ended = True
            exchange.cancel()
            raise
        error = exchange.error
        if error is not None and self._raise_errors and not exchange.client_gone:
            raise error
        raise StopAsyncIteration

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        exchange = self._exchange
        try:
            if not exchange.complete and not exchange.finished:
                exchange.client_gone = True
                exchange.disconnected.set()
                exchange.cancel()
            # Without taking what it may be sending: a cancelled send ends it sooner.
            await exchange.done.wait()
        finally:
            self._receiver.close()


# -- the transport --------------------------------------------------------------------------


class ASGITransport(AsyncBaseTransport):
    """Sends requests to an ASGI application in the same process (async clients only).

    `raise_app_exceptions=False` turns an exception raised before the response started
    into a 500 response; `root_path` and `client` (a `(host, port)` pair) go into the
    scope. `streaming=True` (keyword only, an httpduo addition) returns responses while the
    app is still sending them; it needs the transport to be open (see the module rules).
    """

    def __init__(
        self,
        app: ASGIApp,
        raise_app_exceptions: bool = True,
        root_path: str = "",
        client: Tuple[str, int] = ("127.0.0.1", 123),
        *,
        streaming: bool = False,
    ) -> None:
        self.app = app
        self.raise_app_exceptions = raise_app_exceptions
        self.root_path = root_path
        self.client = client
        self.streaming = streaming
        self._group: Optional[_TaskGroup] = None
        self._live: Set[_Exchange] = set()

    def _scope(self, request: Request) -> Dict[str, Any]:
        url = request.url
        scheme = url.scheme
        port = url.port
        if port is None:
            port = _DEFAULT_PORTS.get(scheme, 80)
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(lower, value) for _, lower, value in request.headers._list],
            "scheme": scheme,
            "path": url.path,
            "raw_path": url.raw_path.partition(b"?")[0],
            "query_string": url.query,
            "server": (url.host, port),
            "client": self.client,
            "root_path": self.root_path,
            "extensions": {},
        }

    async def handle_async_request(self, request: Request) -> Response:
        scope = self._scope(request)
        if not self.streaming:
            return await self._run_in_caller(scope, _Exchange(request))
        group = self._group
        if group is None:
            raise RuntimeError(
                "ASGITransport(streaming=True) runs apps in a task group that lives while the "
                "transport is open: use it inside `async with AsyncClient(transport=...)` or "
                "`async with transport`."
            )
        from .._backends.anyio import create_memory_object_stream

        exchange = _Exchange(request)
        sender: _Sender
        receiver: _Receiver
        sender, receiver = create_memory_object_stream(0)
        exchange._channel = sender
        # Registered before the task starts, so that leaving the transport always finds it.
        self._live.add(exchange)
        try:
            group.start_soon(self._run_app, scope, exchange)
        except BaseException:  # the task group is closing: nothing will run the app
            self._live.discard(exchange)
            exchange.finish()
            receiver.close()
            raise
        first: Optional[_Item] = None
        try:
            async for item in receiver:
                first = item
                break
        except BaseException:
            exchange.cancel()
            receiver.close()
            raise
        if not isinstance(first, _ResponseStart):  # the app ended without a response
            receiver.close()
            return self._no_response(exchange.error)
        return Response(
            first.status,
            headers=first.headers,
            stream=_ASGIResponseStream(exchange, receiver, self.raise_app_exceptions),
        )

    async def _run_in_caller(self, scope: ASGIScope, exchange: _Exchange) -> Response:
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except Exception:
            if self.raise_app_exceptions:
                raise
            if exchange.status is None:
                return Response(500)
            # Already started: the body ends where the app stopped (httpx's behaviour).
        finally:
            exchange.finish()
        if exchange.status is None:
            return self._no_response(None)
        return Response(
            exchange.status,
            headers=exchange.headers,
            stream=ByteStream(b"".join(exchange.parts)),
        )

    def _no_response(self, error: Optional[Exception]) -> Response:
        """The app failed (or returned) before starting its response."""
        if self.raise_app_exceptions:
            if error is None:
                error = RuntimeError(
                    "The ASGI app returned without sending 'http.response.start'."
                )
            raise error
        return Response(500)

    async def _run_app(self, scope: ASGIScope, exchange: _Exchange) -> None:
        from .._backends.anyio import create_task_group

        try:
            # A task group of its own gives this app a cancel scope of its own.
            async with create_task_group() as group:
                if exchange.bind(group.cancel_scope):
                    try:
                        await self.app(scope, exchange.receive, exchange.send)
                    except Exception as exc:  # handed to the reader, never to the task group
                        exchange.error = exc
        finally:
            self._live.discard(exchange)
            exchange.finish()

    def _cancel_live(self) -> None:
        for exchange in list(self._live):
            exchange.client_gone = True
            exchange.disconnected.set()
            exchange.cancel()

    async def aclose(self) -> None:
        """Cancel the apps still running for responses that were never closed."""
        self._cancel_live()

    async def __aenter__(self: _T) -> _T:
        if self.streaming:
            if self._group is not None:
                raise RuntimeError("This ASGITransport is already open.")
            from .._backends.anyio import create_task_group

            group = create_task_group()
            await group.__aenter__()
            self._group = group
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]] = None,
        exc_value: Optional[BaseException] = None,
        traceback: Optional[TracebackType] = None,
    ) -> None:
        group = self._group
        self._group = None
        self._cancel_live()
        if group is not None:
            # The block's own exception is not the task group's business: it propagates
            # from here unchanged (handing it over would wrap it in an ExceptionGroup).
            await group.__aexit__(None, None, None)
