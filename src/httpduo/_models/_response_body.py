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

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, Union

from ._decoders import (
    ByteChunker,
    ContentDecoder,
    IdentityDecoder,
    LineDecoder,
    TextChunker,
    TextDecoder,
    get_content_decoder,
)
from ._exceptions import RequestError, StreamClosed, StreamConsumed, attach_request
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


def _check_chunk_size(chunk_size: Optional[int]) -> None:
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer or None, not {chunk_size!r}")


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
        decoder = get_content_decoder(codings)
        # identity and unknown codings pass the body through, as httpx does.
        return None if isinstance(decoder, IdentityDecoder) else decoder

    def read(self) -> bytes:
        """Read and decode the whole body (once); return it."""
        content = self._body_bytes
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
        if decoder is None and chunk_size is None:
            yield from self.iter_raw()
            return
        chunker = ByteChunker(chunk_size)
        try:
            for raw in self.iter_raw():
                yield from chunker.decode(raw if decoder is None else decoder.decode(raw))
            if decoder is not None:
                yield from chunker.decode(decoder.flush())
        except RequestError as exc:
            attach_request(exc, self._request)
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
        try:
            if chunk_size is None:
                for raw in stream:
                    if raw:
                        self._num_bytes_downloaded += len(raw)
                        yield raw
            else:
                chunker = ByteChunker(chunk_size)
                for raw in stream:
                    self._num_bytes_downloaded += len(raw)
                    yield from chunker.decode(raw)
                yield from chunker.flush()
        except RequestError as exc:
            attach_request(exc, self._request)
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

    async def aiter_bytes(self, chunk_size: Optional[int] = None) -> AsyncIterator[bytes]:
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
        chunker = ByteChunker(chunk_size)
        try:
            async for raw in self.aiter_raw():
                for chunk in chunker.decode(raw if decoder is None else decoder.decode(raw)):
                    yield chunk
            if decoder is not None:
                for chunk in chunker.decode(decoder.flush()):
                    yield chunk
        except RequestError as exc:
            attach_request(exc, self._request)
            raise
        for chunk in chunker.flush():
            yield chunk

    async def aiter_text(self, chunk_size: Optional[int] = None) -> AsyncIterator[str]:
        """Yield the body decoded as text, in `chunk_size` characters if given."""
        _check_chunk_size(chunk_size)
        decoder = TextDecoder(self.encoding or "utf-8")
        chunker = TextChunker(chunk_size)
        async for data in self.aiter_bytes():
            for chunk in chunker.decode(decoder.decode(data)):
                yield chunk
        for chunk in chunker.decode(decoder.flush()):
            yield chunk
        for chunk in chunker.flush():
            yield chunk

    async def aiter_lines(self) -> AsyncIterator[str]:
        """Yield the body as text lines, without their line endings."""
        decoder = LineDecoder()
        async for text in self.aiter_text():
            for line in decoder.decode(text):
                yield line
        for line in decoder.flush():
            yield line

    async def aiter_raw(self, chunk_size: Optional[int] = None) -> AsyncIterator[bytes]:
        """Yield the body as received (not decoded); closes the response at the end."""
        _check_chunk_size(chunk_size)
        stream = self._start_reading(AsyncByteStream, _ASYNC_ON_SYNC)
        chunker = ByteChunker(chunk_size)
        try:
            async for raw in stream:
                self._num_bytes_downloaded += len(raw)
                for chunk in chunker.decode(raw):
                    yield chunk
            for chunk in chunker.flush():
                yield chunk
        except RequestError as exc:
            attach_request(exc, self._request)
            raise
        await self.aclose()

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
