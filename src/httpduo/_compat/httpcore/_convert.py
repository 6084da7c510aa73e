"""Requests and responses across the facade: httpduo's models <-> httpcore's.

Rules (one copy of the conversion logic, used by the sync and the async side alike):
- Transport side (`to_core_request`, `to_httpduo_response`): what httpx does around
  httpcore. The httpcore request carries the httpduo request's own stream and
  extensions; the URL parts are its raw bytes.
- Pool side (`to_httpduo_request`, `to_core_response`): what the facade pool does before
  and after httpduo's real pool. A URL left as the transport built it is not parsed again.
- Pass-through costs little: a request or response that crossed the facade with nothing
  changed on the way (method, URL parts, headers, stream, status) is handed on as the
  same httpduo object, and an untouched body is read from httpduo's stream directly.
  Any other body (a mock's) is read through a wrapper that maps httpcore's exceptions.
- The `network_stream` extension is exposed as httpcore's NetworkStream interface.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any, Optional, Union

from httpduo._models._headers import Headers
from httpduo._models._requests import Request as DuoRequest
from httpduo._models._responses import Response as DuoResponse
from httpduo._models._streams import (
    AsyncByteStream,
    AsyncIteratorByteStream,
    ByteStream,
    IteratorByteStream,
    SyncByteStream,
)
from httpduo._models._urls import URL as DuoURL

from ._exceptions import mapped_to_core, mapped_to_httpduo
from ._models import URL, Request, Response
from ._network import adapt_network_stream

__all__ = [
    "CoreAsyncStream",
    "CoreSyncStream",
    "to_core_request",
    "to_core_response",
    "to_httpduo_request",
    "to_httpduo_response",
]

_URL_CACHE = "_httpduo_url"


# ---- transport side ------------------------------------------------------------------


def to_core_request(request: DuoRequest) -> Request:
    """The httpcore request httpx would build for `request`."""
    url = request.url
    core_url = URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)
    # Remember the parsed URL, with the parts it was made from, for the way back.
    parts = (core_url.scheme, core_url.host, url.port, core_url.target)
    setattr(core_url, _URL_CACHE, (parts, url))
    core = Request.__new__(Request)
    core.method = method = request.method.encode("ascii")
    core.url = core_url
    core.headers = headers = request.headers.raw
    core.stream = request.stream
    core.extensions = request.extensions
    # What the request was made from, to hand the same one on if nobody changed it.
    core._httpduo = (request, method, headers.copy())  # type: ignore[attr-defined]
    return core


class _SyncStreamFromCore(SyncByteStream):
    """An httpcore response body read as an httpduo one, errors mapped."""

    def __init__(self, stream: Iterable[bytes], request: DuoRequest) -> None:
        self._stream = stream
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        with mapped_to_httpduo(self._request):
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            with mapped_to_httpduo(self._request):
                close()


class _AsyncStreamFromCore(AsyncByteStream):
    """An httpcore response body read as an httpduo one, errors mapped (async)."""

    def __init__(self, stream: AsyncIterable[bytes], request: DuoRequest) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with mapped_to_httpduo(self._request):
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            with mapped_to_httpduo(self._request):
                await aclose()


def to_httpduo_response(core: Response, request: DuoRequest, *, sync: bool) -> DuoResponse:
    """The httpduo response for what the httpcore layer answered to `request`."""
    stream: Any = core.stream
    if core._content is not None:  # read on the way (by a patch): its body is that
        body: Union[SyncByteStream, AsyncByteStream] = ByteStream(core._content)
    elif isinstance(stream, (CoreSyncStream, CoreAsyncStream)):
        made_from = core.__dict__.get("_httpduo")
        if made_from is not None:
            response, headers = made_from
            if core.status == response.status_code and core.headers == headers:
                response.extensions = core.extensions
                return response  # type: ignore[no-any-return]
        body = stream._stream
    elif sync:
        body = _SyncStreamFromCore(stream, request)
    else:
        body = _AsyncStreamFromCore(stream, request)
    extensions = core.extensions if isinstance(core.extensions, dict) else dict(core.extensions)
    return DuoResponse._from_transport(core.status, Headers(core.headers), body, extensions)


# ---- pool side -----------------------------------------------------------------------


def _httpduo_url(url: URL) -> DuoURL:
    cached: Optional[tuple[tuple[Any, ...], DuoURL]] = getattr(url, _URL_CACHE, None)
    if cached is not None and cached[0] == (url.scheme, url.host, url.port, url.target):
        return cached[1]
    if not (url.scheme and url.host):
        raise ValueError(f"Request URL {url!r} needs a scheme and a host")
    return DuoURL(bytes(url).decode("ascii"))


def _httpduo_body(stream: object) -> Union[SyncByteStream, AsyncByteStream]:
    if isinstance(stream, (SyncByteStream, AsyncByteStream)):
        return stream
    if isinstance(stream, Iterable):
        return IteratorByteStream(stream)
    if isinstance(stream, AsyncIterable):
        return AsyncIteratorByteStream(stream)
    raise TypeError(f"Request stream must be an iterable of bytes, not {type(stream).__name__}")


def to_httpduo_request(core: Request) -> DuoRequest:
    """The httpduo request the real pool sends for `core`: the one it was made from
    when nothing was changed on the way, else a new one."""
    made_from = core.__dict__.get("_httpduo")
    if made_from is not None:
        request, method, headers = made_from
        if (
            core.stream is request.stream
            and core.extensions is request.extensions
            and core.method == method
            and core.headers == headers
            and _httpduo_url(core.url) is request.url
        ):
            return request  # type: ignore[no-any-return]
    return DuoRequest(
        core.method,
        _httpduo_url(core.url),
        headers=core.headers,
        stream=_httpduo_body(core.stream),
        extensions=core.extensions,
    )


class CoreSyncStream:
    """An httpduo response body read as an httpcore one, errors mapped."""

    def __init__(self, stream: SyncByteStream) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with mapped_to_core():
            yield from self._stream

    def close(self) -> None:
        with mapped_to_core():
            self._stream.close()


class CoreAsyncStream:
    """An httpduo response body read as an httpcore one, errors mapped (async)."""

    def __init__(self, stream: AsyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with mapped_to_core():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        with mapped_to_core():
            await self._stream.aclose()


def to_core_response(
    response: DuoResponse, stream_type: type[Union[CoreSyncStream, CoreAsyncStream]]
) -> Response:
    """The httpcore response for what httpduo's real pool answered, its body read
    through `stream_type` (the side the pool is on)."""
    stream: Any = response.stream
    extensions = response.extensions  # fresh per response: ours to change
    network_stream = extensions.get("network_stream")
    if network_stream is not None:
        extensions["network_stream"] = adapt_network_stream(network_stream)
    core = Response.__new__(Response)
    core.status = response.status_code
    core.headers = headers = response.headers.raw
    core.stream = stream_type(stream)
    core.extensions = extensions
    core._content = None
    core._httpduo = (response, headers.copy())  # type: ignore[attr-defined]
    return core
