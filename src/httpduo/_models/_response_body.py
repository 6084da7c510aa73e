"""The body half of `Response`: reading, iterating and closing it, sync and async.

Rules of this module:
- The raw stream is iterated at most once. Iterating it to the end closes the response
  (so a transport gets its connection back); `close()`/`aclose()` are idempotent and
  run the close hook the client registered (`Response._on_close`) first.
- Sync methods need a `SyncByteStream`, async methods an `AsyncByteStream`; the wrong
  kind is a `RuntimeError` naming the methods to use instead.
- Whole-body reads (`read()`/`aread()`) take the stream's `_read_all()`/`_aread_all()`
  and decode once; iteration decodes chunk by chunk. Both count `num_bytes_downloaded`
  and attach the request to the errors they raise.
- Memory stays bounded while iterating, however far the body expands: a decoder's
  output is pulled out in pieces (`PULL_SIZE`, or the chunk size if larger) and each is
  handed on before the next network read; nothing holds a whole network read's output.
- The opt-in size limits (`_body_limit.py`) are counted as the body comes in; passing
  one closes the response, then raises `ResponseTooLarge`. With a limit, `read()`
  iterates too, so it stops as early as streaming does.
- `Response` is the one class built on `ResponseBody`; its constructors set up the
  body's fields; `headers`, `_request` and `encoding` are `Response`'s, only read here.
- No `__slots__` (here or in `Response`): a slotted base cannot be combined with an
  exception class (Starlette's TestClient builds `class _(Response, Exception)`).
- The body once read is `_body_bytes` (None until then). httpx's name for it,
  `_content`, is a property here with httpx's behaviour: absent until the body is read,
  settable (vcrpy sets it) and deletable (pytest-httpx deletes it, with
  `is_stream_consumed`/`is_closed` reset, to make a response readable again).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, Union

from ._aiterators import AsyncChunks, AsyncPipeline
from ._body_limit import BodyLimit, body_limit
from ._decoders import (
    PULL_SIZE,
    ByteChunker,
    ContentDecoder,
    IdentityDecoder,
    LineDecoder,
    TextChunker,
    TextDecoder,
    get_content_decoder,
)
from ._exceptions import (
    DecodingError,
    RequestError,
    ResponseTooLarge,
    StreamClosed,
    StreamConsumed,
    attach_request,
)
from ._headers import Headers
from ._streams import AsyncByteStream, SyncByteStream

if TYPE_CHECKING:  # pragma: no cover
    from ._requests import Request

__all__ = ["ResponseBody"]

_StreamT = TypeVar("_StreamT", SyncByteStream, AsyncByteStream)

_SYNC_ON_ASYNC = (
    "Attempted to call a sync iterator on an async stream. This response has an async "
    "stream: use `aread()`, `aiter_bytes()`, `aiter_text()`, `aiter_lines()`, "
    "`aiter_raw()` and `aclose()`."
)
_ASYNC_ON_SYNC = (
    "Attempted to call an async iterator on a sync stream. This response has a sync "
    "stream: use `read()`, `iter_bytes()`, `iter_text()`, `iter_lines()`, `iter_raw()` "
    "and `close()`."
)
_SYNC_CLOSE_ON_ASYNC = (
    "Attempted to call a sync close on an async stream. This response has an async "
    "stream: use `await response.aclose()`."
)
_ASYNC_CLOSE_ON_SYNC = (
    "Attempted to call an async close on a sync stream. This response has a sync "
    "stream: use `response.close()`."
)


def _slices(content: bytes, chunk_size: Optional[int]) -> Iterator[bytes]:
    _check_chunk_size(chunk_size)
    if content:
        size = chunk_size or len(content)
        for start in range(0, len(content), size):
            yield content[start : start + size]


def _check_chunk_size(chunk_size: Optional[int]) -> None:
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer or None, not {chunk_size!r}")


def _decoded_pieces(
    decoder: Optional[ContentDecoder],
    raw: bytes,
    size: int,
    limit: Optional[BodyLimit],
    seen: list[int],
) -> Iterator[bytes]:
    """What `raw` decodes to, `size` bytes at most per piece, counted against `limit`
    (`seen[0]` is the running total)."""
    if decoder is None:
        if limit is not None:
            seen[0] += len(raw)
            limit.check_body(seen[0])
        yield raw
        return
    decoder.feed(raw)
    pull = decoder.pull
    while True:
        data = pull(size)
        if not data:
            return
        if limit is not None:
            seen[0] += len(data)
            limit.check_body(seen[0])
        yield data


class ResponseBody:
    """Reading, iterating and closing a response's body (a base of `Response`)."""

    # The body's state; `Response` sets it up and adds the rest.
    stream: Union[SyncByteStream, AsyncByteStream]
    is_closed: bool
    is_stream_consumed: bool
    _body_bytes: Optional[bytes]  # the body once read (see the module's rules)
    _num_bytes_downloaded: int
    # Set by `Response._on_close`, which types the hook; it gets the response.
    _close_hook: Optional[Callable[[Any], None]]

    # Response's own, read here.
    headers: Headers
    status_code: int
    _request: Optional[Request]
    encoding: Optional[str]  # a property of Response's

    @property
    def _content(self) -> bytes:
        """Compatibility name (httpx's): the body once read, absent until then."""
        content = self._body_bytes
        if content is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute '_content'")
        return content

    @_content.setter
    def _content(self, content: bytes) -> None:
        self._body_bytes = content

    @_content.deleter
    def _content(self) -> None:
        if self._body_bytes is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute '_content'")
        self._body_bytes = None

    def _run_close_hook(self) -> None:
        # The hook is the client's: it sets `elapsed` (models read no clocks).
        hook = self._close_hook
        if hook is not None:
            self._close_hook = None
            hook(self)

    def _content_decoder(self) -> Optional[ContentDecoder]:
        """The decoder for Content-Encoding, or None when the body is not encoded."""
        codings = self.headers.get_list("content-encoding")
        if not codings:
            return None
        try:
            decoder = get_content_decoder(codings)
        except DecodingError as exc:  # too many codings
            attach_request(exc, self._request)
            raise
        # identity and unknown codings pass the body through, as httpx does.
        return None if isinstance(decoder, IdentityDecoder) else decoder

    def _limit(self) -> Optional[BodyLimit]:
        request = self._request
        return None if request is None else body_limit(request.extensions)

    def _check_length(self, limit: BodyLimit) -> None:
        # HEAD, 204 and 304 answers have no body, whatever Content-Length says.
        request = self._request
        if self.status_code in (204, 304) or (request is not None and request.method == "HEAD"):
            return
        limit.check_length(self.headers, self._content_decoder() is not None)

    def read(self) -> bytes:
        """Read and decode the whole body (once); return it."""
        content = self._body_bytes
        if content is None and self._limit() is not None:
            # Piece by piece, so a body past the limit is refused before it is in memory.
            content = self._body_bytes = b"".join(self.iter_bytes())
        if content is None:
            stream = self._start_reading(SyncByteStream, _SYNC_ON_ASYNC)
            try:
                content = self._decode_whole(stream._read_all())
            except RequestError as exc:
                attach_request(exc, self._request)
                raise
            self._body_bytes = content
            self.close()
        return content

    def _start_reading(self, kind: type[_StreamT], wrong_kind: str) -> _StreamT:
        """The stream, marked consumed; errors if it was read or closed, or is of the
        other kind (sync/async)."""
        if self.is_stream_consumed:
            raise StreamConsumed()
        if self.is_closed:
            raise StreamClosed()
        stream = self.stream
        if not isinstance(stream, kind):
            raise RuntimeError(wrong_kind)
        self.is_stream_consumed = True
        self._num_bytes_downloaded = 0
        return stream

    def _decode_whole(self, raw: bytes) -> bytes:
        """The whole body as received, counted and decoded (read() and aread())."""
        self._num_bytes_downloaded = len(raw)
        decoder = self._content_decoder()
        if decoder is None:
            return raw
        return decoder.decode(raw) + decoder.flush()

    def iter_bytes(self, chunk_size: Optional[int] = None) -> Iterator[bytes]:
        """Yield the decoded body, in `chunk_size` pieces if given."""
        _check_chunk_size(chunk_size)
        content = self._body_bytes
        if content is not None:
            if content:
                size = chunk_size or len(content)
                for start in range(0, len(content), size):
                    yield content[start : start + size]
            return
        decoder = self._content_decoder()
        limit = self._limit()
        if decoder is None and chunk_size is None and limit is None:
            yield from self.iter_raw()
            return
        chunker = ByteChunker(chunk_size)
        size = max(chunk_size or 0, PULL_SIZE)
        seen = [0]
        try:
            for raw in self.iter_raw():
                for data in _decoded_pieces(decoder, raw, size, limit, seen):
                    yield from chunker.split(data)
            if decoder is not None:
                yield from chunker.split(decoder.flush())
        except RequestError as exc:
            attach_request(exc, self._request)
            if isinstance(exc, ResponseTooLarge):
                self.close()
            raise
        yield from chunker.flush()

    def iter_text(self, chunk_size: Optional[int] = None) -> Iterator[str]:
        """Yield the body decoded as text, in `chunk_size` characters if given."""
        _check_chunk_size(chunk_size)
        decoder = TextDecoder(self.encoding or "utf-8")
        chunker = TextChunker(chunk_size)
        for data in self.iter_bytes():
            yield from chunker.decode(decoder.decode(data))
        yield from chunker.decode(decoder.flush())
        yield from chunker.flush()

    def iter_lines(self) -> Iterator[str]:
        """Yield the body as text lines, without their line endings."""
        decoder = LineDecoder()
        for text in self.iter_text():
            yield from decoder.decode(text)
        yield from decoder.flush()

    def iter_raw(self, chunk_size: Optional[int] = None) -> Iterator[bytes]:
        """Yield the body as received (not decoded); closes the response at the end."""
        _check_chunk_size(chunk_size)
        stream = self._start_reading(SyncByteStream, _SYNC_ON_ASYNC)
        limit = self._limit()
        try:
            if chunk_size is None and limit is None:
                for raw in stream:
                    if raw:
                        self._num_bytes_downloaded += len(raw)
                        yield raw
            else:
                if limit is not None:
                    self._check_length(limit)
                chunker = ByteChunker(chunk_size)
                for raw in stream:
                    self._num_bytes_downloaded += len(raw)
                    if limit is not None:
                        limit.check_download(self._num_bytes_downloaded)
                    yield from chunker.split(raw)
                yield from chunker.flush()
        except RequestError as exc:
            attach_request(exc, self._request)
            if isinstance(exc, ResponseTooLarge):
                self.close()
            raise
        self.close()

    def close(self) -> None:
        """Close the underlying stream (releasing its connection). Idempotent."""
        stream = self.stream
        if not isinstance(stream, SyncByteStream):
            raise RuntimeError(_SYNC_CLOSE_ON_ASYNC)
        if not self.is_closed:
            self.is_closed = True
            self._run_close_hook()
            try:
                stream.close()
            except RequestError as exc:
                attach_request(exc, self._request)
                raise

    # -- body, async -------------------------------------------------------------------

    async def aread(self) -> bytes:
        """Read and decode the whole body (once); return it."""
        content = self._body_bytes
        if content is None and self._limit() is not None:
            # Piece by piece, so a body past the limit is refused before it is in memory.
            content = self._body_bytes = b"".join([data async for data in self.aiter_bytes()])
        if content is None:
            stream = self._start_reading(AsyncByteStream, _ASYNC_ON_SYNC)
            try:
                content = self._decode_whole(await stream._aread_all())
            except RequestError as exc:
                attach_request(exc, self._request)
                raise
            self._body_bytes = content
            await self.aclose()
        return content

    # The async iterators are iterator classes, not async generators: a response
    # abandoned mid-iteration leaves nothing for the garbage collector (see _aiterators).

    def aiter_bytes(self, chunk_size: Optional[int] = None) -> AsyncIterator[bytes]:
        """Yield the decoded body, in `chunk_size` pieces if given."""
        content = self._body_bytes
        if content is not None:
            return AsyncChunks(_slices(content, chunk_size))
        if chunk_size is None and self._content_decoder() is None and self._limit() is None:
            return self.aiter_raw()  # nothing to decode, re-cut or count: the raw chunks
        decoder: Optional[ContentDecoder] = None
        limit: Optional[BodyLimit] = None
        chunker = ByteChunker()
        size = PULL_SIZE
        seen = [0]

        def start() -> AsyncIterator[bytes]:
            nonlocal decoder, limit, chunker, size
            _check_chunk_size(chunk_size)
            decoder = self._content_decoder()
            limit = self._limit()
            chunker = ByteChunker(chunk_size)
            size = max(chunk_size or 0, PULL_SIZE)
            return self.aiter_raw()

        def step(raw: bytes) -> Iterator[bytes]:
            # Lazy: one network read may decode to far more than memory should hold.
            for data in _decoded_pieces(decoder, raw, size, limit, seen):
                yield from chunker.split(data)

        def finish() -> Iterator[bytes]:
            if decoder is not None:
                yield from chunker.split(decoder.flush())
            yield from chunker.flush()

        return AsyncPipeline(start, step, finish, on_error=self._on_async_error)

    def aiter_text(self, chunk_size: Optional[int] = None) -> AsyncIterator[str]:
        """Yield the body decoded as text, in `chunk_size` characters if given."""
        decoder = TextDecoder("utf-8")
        chunker = TextChunker()

        def start() -> AsyncIterator[bytes]:
            nonlocal decoder, chunker
            _check_chunk_size(chunk_size)
            decoder = TextDecoder(self.encoding or "utf-8")
            chunker = TextChunker(chunk_size)
            return self.aiter_bytes()

        def step(data: bytes) -> list[str]:
            return chunker.decode(decoder.decode(data))

        def finish() -> list[str]:
            return chunker.decode(decoder.flush()) + chunker.flush()

        return AsyncPipeline(start, step, finish)

    def aiter_lines(self) -> AsyncIterator[str]:
        """Yield the body as text lines, without their line endings."""
        decoder = LineDecoder()
        return AsyncPipeline(self.aiter_text, decoder.decode, decoder.flush)

    def aiter_raw(self, chunk_size: Optional[int] = None) -> AsyncIterator[bytes]:
        """Yield the body as received (not decoded); closes the response at the end."""
        chunker = ByteChunker()
        limit: Optional[BodyLimit] = None

        def start() -> AsyncIterator[bytes]:
            nonlocal chunker, limit
            _check_chunk_size(chunk_size)
            stream = self._start_reading(AsyncByteStream, _ASYNC_ON_SYNC)
            limit = self._limit()
            if limit is not None:
                self._check_length(limit)
            chunker = ByteChunker(chunk_size)
            return stream.__aiter__()

        def step(raw: bytes) -> list[bytes]:
            self._num_bytes_downloaded += len(raw)
            if limit is not None:
                limit.check_download(self._num_bytes_downloaded)
            return chunker.decode(raw)

        def finish() -> list[bytes]:
            return chunker.flush()

        return AsyncPipeline(start, step, finish, self.aclose, self._on_async_error)

    def _on_async_error(self, exc: BaseException) -> Optional[Awaitable[None]]:
        # Errors leave with the request attached; a body past its limit is closed first.
        if isinstance(exc, RequestError):
            attach_request(exc, self._request)
            if isinstance(exc, ResponseTooLarge):
                return self.aclose()
        return None

    async def aclose(self) -> None:
        """Close the underlying stream (releasing its connection). Idempotent."""
        stream = self.stream
        if not isinstance(stream, AsyncByteStream):
            raise RuntimeError(_ASYNC_CLOSE_ON_SYNC)
        if not self.is_closed:
            self.is_closed = True
            self._run_close_hook()
            try:
                await stream.aclose()
            except RequestError as exc:
                attach_request(exc, self._request)
                raise
