"""`WSGITransport`: sends requests straight to a WSGI application (PEP 3333), in process.

Rules:
- The environ follows PEP 3333: every value is a native string, so PATH_INFO is the
  percent-decoded path bytes decoded as latin-1 (a UTF-8 path arrives as its bytes, for
  the framework to decode); repeated request headers are joined with "," (Cookie with
  "; "), Content-Type/Content-Length have no HTTP_ prefix.
- `script_name` mounts the app without touching the path (httpx's behaviour: request
  paths are relative to the mount point). `root_path` (an httpduo addition) is a prefix
  that request paths include: when the path starts with it, it moves from PATH_INFO to
  SCRIPT_NAME, as a real mount would do.
- The request body reaches the app through `wsgi.input`, read from the request stream as
  the app asks for it (an in-memory body is wrapped in `io.BytesIO`).
- The app runs until its headers are final (the first non-empty body chunk, or the end of
  the body); the rest of its iterable is pulled lazily as the response is read, and its
  `close()` is called when the response is closed (PEP 3333), however the read ended.
- An exception raised before the headers are final propagates unchanged when
  `raise_app_exceptions` is true, and becomes an empty 500 response (traceback written to
  wsgi.errors) when it is false. `start_response(..., exc_info)` before the headers are
  final replaces them, or re-raises `exc_info` when `raise_app_exceptions` is true; after
  they are final it re-raises, as PEP 3333 requires. Errors while the body is being read
  always propagate: the status has already been handed out.
- Responses to HEAD requests have no body, whatever the app yields.
"""

from __future__ import annotations

import collections
import functools
import io
import sys
import traceback
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, Any, Callable, Deque, Dict, List, Optional, Tuple, Type, Union
from urllib.parse import unquote_to_bytes

from .._models._headers import Headers
from .._models._requests import Request
from .._models._responses import Response
from .._models._streams import ByteStream, SyncByteStream, ensure_bytes_chunk
from .._sync._base_transport import BaseTransport

__all__ = ["WSGITransport"]

ExcInfo = Tuple[Type[BaseException], BaseException, Optional[TracebackType]]
OptExcInfo = Union[ExcInfo, Tuple[None, None, None], None]
WriteCallable = Callable[[bytes], None]
StartResponse = Callable[..., WriteCallable]
WSGIEnvironment = Dict[str, Any]
WSGIApplication = Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_UNPREFIXED = {b"content-type": "CONTENT_TYPE", b"content-length": "CONTENT_LENGTH"}


@functools.lru_cache(maxsize=512)
def _environ_key(lower_name: bytes) -> str:
    key = _UNPREFIXED.get(lower_name)
    if key is None:
        key = "HTTP_" + lower_name.decode("latin-1").upper().replace("-", "_")
    return key


def _native(text: str) -> str:
    """A `str` as a PEP 3333 native string: its UTF-8 bytes, decoded as latin-1."""
    return text if text.isascii() else text.encode("utf-8").decode("latin-1")


class _InputStream:
    """`wsgi.input` over a streaming request body: bytes are pulled only when asked for."""

    __slots__ = ("_buffer", "_chunks")

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks: Optional[Iterator[bytes]] = chunks
        self._buffer = bytearray()

    def _fill(self) -> bool:
        """Append the next non-empty chunk to the buffer; False once the body is over."""
        chunks = self._chunks
        if chunks is not None:
            for chunk in chunks:
                if chunk:
                    self._buffer += chunk
                    return True
            self._chunks = None
        return False

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def read(self, size: Optional[int] = -1) -> bytes:
        if size is None or size < 0:
            while self._fill():
                pass
            return self._take(len(self._buffer))
        while len(self._buffer) < size and self._fill():
            pass
        return self._take(size)

    def readline(self, size: Optional[int] = -1) -> bytes:
        limit = -1 if size is None else size
        searched = 0
        while True:
            newline = self._buffer.find(b"\n", searched)
            if newline >= 0:
                end = newline + 1
                break
            searched = len(self._buffer)
            if 0 <= limit <= searched or not self._fill():
                end = searched
                break
        if 0 <= limit < end:
            end = limit
        return self._take(end)

    def readlines(self, hint: Optional[int] = -1) -> List[bytes]:
        lines: List[bytes] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


def _input_stream(request: Request) -> Union[IO[bytes], _InputStream]:
    stream = request.stream
    if type(stream) is ByteStream:
        return io.BytesIO(b"".join(stream))
    if not isinstance(stream, Iterable):
        raise RuntimeError(
            "WSGITransport needs a request body it can read synchronously (a "
            f"SyncByteStream), not {type(stream).__name__!r}."
        )
    return _InputStream(iter(stream))


def _response_headers(response_headers: List[Tuple[str, str]]) -> Headers:
    """The app's headers as bytes: PEP 3333 native strings are latin-1 text."""
    pairs: List[Tuple[bytes, bytes]] = []
    for pair in response_headers:
        try:
            name, value = pair
        except (TypeError, ValueError):
            raise TypeError(
                f"start_response() headers must be (name, value) pairs, got {pair!r}."
            ) from None
        try:
            pairs.append(
                (
                    name if isinstance(name, bytes) else name.encode("latin-1"),
                    value if isinstance(value, bytes) else value.encode("latin-1"),
                )
            )
        except (AttributeError, UnicodeEncodeError):
            raise ValueError(
                f"start_response() header {name!r} must be latin-1 text (PEP 3333 native "
                f"strings), got {value!r}."
            ) from None
    return Headers(pairs)


class _Exchange:
    """What the app reported through `start_response()`, plus bytes given to `write()`."""

    __slots__ = ("exc_info", "headers", "headers_sent", "pending", "status")

    def __init__(self) -> None:
        self.status: Optional[str] = None
        self.headers: Optional[Headers] = None
        self.exc_info: Optional[ExcInfo] = None
        self.headers_sent = False
        # Body bytes in order: from write() and from the app's iterable.
        self.pending: Deque[bytes] = collections.deque()

    def start_response(
        self,
        status: str,
        response_headers: List[Tuple[str, str]],
        exc_info: OptExcInfo = None,
    ) -> WriteCallable:
        if exc_info is not None and exc_info[0] is not None:
            error = exc_info[1]
            if self.headers_sent or self.pending:
                # Too late to replace the headers: PEP 3333 says re-raise.
                raise error.with_traceback(exc_info[2])
            self.exc_info = exc_info
        elif self.status is not None:
            raise RuntimeError(
                "start_response() was called twice: a WSGI app may call it again only with "
                "exc_info, to replace the headers after an error (PEP 3333)."
            )
        if not isinstance(status, str) or not (
            len(status) >= 3 and status[:3].isdigit() and (len(status) == 3 or status[3] == " ")
        ):
            raise ValueError(f"start_response() needs a status like '200 OK', got {status!r}.")
        self.headers = _response_headers(response_headers)
        self.status = status
        return self.write

    def write(self, data: bytes) -> None:
        chunk = ensure_bytes_chunk(data)
        if chunk:
            self.pending.append(chunk)


class _WSGIBody(SyncByteStream):
    """The app's body: pulled from its iterable as the response is read; closes it once."""

    __slots__ = ("_closed", "_discard", "_exchange", "_first", "_iterator", "_result")

    def __init__(self, result: Iterable[bytes], exchange: _Exchange, *, discard: bool) -> None:
        self._result = result
        self._exchange = exchange
        self._discard = discard
        self._closed = False
        self._first: Optional[bytes] = None
        self._iterator: Optional[Iterator[bytes]] = None

    def start(self) -> None:
        """Run the app until its headers are final: its first body bytes, or its end."""
        self._iterator = iter(self._result)
        self._first = self._pull()

    def _pull(self) -> Optional[bytes]:
        pending = self._exchange.pending
        while not pending:
            iterator = self._iterator
            if iterator is None:
                return None
            try:
                chunk = next(iterator)
            except StopIteration:
                self._iterator = None
                continue
            if type(chunk) is not bytes:
                chunk = ensure_bytes_chunk(chunk)
            if chunk:
                pending.append(chunk)
        return pending.popleft()

    def __iter__(self) -> Iterator[bytes]:
        if self._discard:
            return
        chunk = self._first
        self._first = None
        while chunk is not None:
            yield chunk
            chunk = self._pull()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._iterator = None
            close = getattr(self._result, "close", None)
            if close is not None:
                close()


class WSGITransport(BaseTransport):
    """Sends requests to a WSGI application in the same process (sync clients only).

    `raise_app_exceptions=False` turns an app's exception into a 500 response;
    `script_name` sets SCRIPT_NAME; `root_path` (keyword only, an httpduo addition) is a
    mount prefix stripped from PATH_INFO into SCRIPT_NAME; `remote_addr` sets REMOTE_ADDR;
    `wsgi_errors` is the `wsgi.errors` stream (default: `sys.stderr`).
    """

    def __init__(
        self,
        app: WSGIApplication,
        raise_app_exceptions: bool = True,
        script_name: str = "",
        remote_addr: str = "127.0.0.1",
        wsgi_errors: Optional[IO[str]] = None,
        *,
        root_path: str = "",
    ) -> None:
        self.app = app
        self.raise_app_exceptions = raise_app_exceptions
        self.script_name = script_name
        self.root_path = root_path
        self.remote_addr = remote_addr
        self.wsgi_errors = wsgi_errors

    def handle_request(self, request: Request) -> Response:
        environ = self._build_environ(request)
        exchange = _Exchange()
        try:
            result = self.app(environ, exchange.start_response)
        except Exception as exc:
            return self._app_failed(environ, exc)
        body = _WSGIBody(result, exchange, discard=request.method == "HEAD")
        try:
            body.start()
            status = exchange.status
            if status is None:
                raise RuntimeError("The WSGI app returned without calling start_response().")
            exc_info = exchange.exc_info
            if exc_info is not None and self.raise_app_exceptions:
                raise exc_info[1].with_traceback(exc_info[2])
        except Exception as exc:
            body.close()
            return self._app_failed(environ, exc)
        except BaseException:
            body.close()
            raise
        exchange.headers_sent = True
        return Response(
            int(status[:3]),
            headers=exchange.headers,
            stream=body,
            extensions={"reason_phrase": status[4:].encode("latin-1")},
        )

    def _build_environ(self, request: Request) -> WSGIEnvironment:
        """The PEP 3333 environ for `request` (the request body is not read here)."""
        url = request.url
        scheme = url.scheme
        path, _, query = url.raw_path.partition(b"?")
        path_info = unquote_to_bytes(path).decode("latin-1")
        script_name = _native(self.script_name)
        root_path = _native(self.root_path).rstrip("/")
        if root_path and (path_info == root_path or path_info.startswith(root_path + "/")):
            script_name += root_path
            path_info = path_info[len(root_path) :]
        port = url.port
        if port is None:
            port = _DEFAULT_PORTS.get(scheme, 80)
        environ: WSGIEnvironment = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scheme,
            "wsgi.input": _input_stream(request),
            # The body ends where wsgi.input says so, Content-Length or not.
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr if self.wsgi_errors is None else self.wsgi_errors,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": script_name,
            "PATH_INFO": path_info,
            "QUERY_STRING": query.decode("latin-1"),
            "SERVER_NAME": url.raw_host.decode("ascii"),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": self.remote_addr,
        }
        for _, lower, value in request.headers._list:
            key = _environ_key(lower)
            text = value.decode("latin-1")
            previous = environ.get(key)
            if previous is not None:
                text = previous + ("; " if key == "HTTP_COOKIE" else ",") + text
            environ[key] = text
        return environ

    def _app_failed(self, environ: WSGIEnvironment, exc: Exception) -> Response:
        if self.raise_app_exceptions:
            raise exc
        # A server logs what it turns into a 500; so do we, to the app's error stream.
        errors = environ["wsgi.errors"]
        try:
            errors.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
            errors.flush()
        except Exception:  # a broken error stream must not hide the 500 response
            pass
        return Response(500)
