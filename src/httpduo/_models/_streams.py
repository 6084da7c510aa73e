"""Byte streams: a request or response body as an iterable of `bytes` chunks.

Rules:
- `SyncByteStream` and `AsyncByteStream` are the public base classes a transport (or a
  user) implements; `ByteStream` implements both, so in-memory bodies work on either side.
- Streams yield non-empty `bytes`: empty chunks are dropped (in a chunked body an empty
  chunk would read as the end), `bytearray`/`memoryview` chunks are copied to `bytes`, and
  anything else (`str` included) is a `TypeError` naming the type: encoding text is the
  caller's decision, not ours.
- Replay: a body may be sent twice (redirects, auth retries). Bytes, re-iterable
  collections (a list of chunks) and seekable files replay; one-shot sources (generators,
  iterators, non-seekable files) raise `StreamConsumed` on a second iteration instead of
  silently sending an empty body.
- Files are read in `CHUNK_SIZE` pieces, never whole; a file opened in text mode is a
  `TypeError` (its byte length cannot be known up front).
- The concrete streams have no `__slots__` (as httpx's): packages subclass two of them
  at once (pytest-httpx: `class IteratorStream(AsyncIteratorByteStream,
  IteratorByteStream)`), which two slotted bases cannot be. Their constructors take
  httpx's argument names (`IteratorByteStream(stream=...)`).
- `_read_all()` / `_aread_all()` return the rest of a body as one `bytes`. The base
  classes join what iteration yields; the transport's own response streams override
  them to collect the body without a generator per layer (`Response.read()` and
  `aread()`, the common case, use them). Overrides keep iteration's effects: the same
  errors, the same cleanup.
- A `ByteStream`'s bytes are known up front only when it is exactly a `ByteStream`
  (callers test `type(stream) is ByteStream` before taking `_content`): subclasses may
  keep their body elsewhere and iterate it their own way, without calling
  `ByteStream.__init__` (hishel's cache stream does), and their `_read_all()` /
  `_aread_all()` then iterate too.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from types import GeneratorType
from typing import IO, Any, Optional, Union

from ._aiterators import AsyncChunks, AsyncPipeline
from ._exceptions import StreamClosed, StreamConsumed

__all__ = [
    "CHUNK_SIZE",
    "AsyncByteStream",
    "AsyncIteratorByteStream",
    "ByteStream",
    "IteratorByteStream",
    "SyncByteStream",
    "UnattachedStream",
    "check_binary_file",
    "ensure_bytes_chunk",
    "is_file_like",
    "peek_file_length",
]

# Read size for file bodies: large enough to keep per-chunk overhead low, small enough to
# keep memory flat however big the file is.
CHUNK_SIZE = 64 * 1024


class SyncByteStream:
    """Base class for synchronous bodies: subclasses implement `__iter__`."""

    __slots__ = ()

    def __iter__(self) -> Iterator[bytes]:
        raise NotImplementedError(
            f"{type(self).__name__} must implement __iter__() and yield the body as "
            "bytes chunks (a SyncByteStream subclass's one duty)."
        )

    def close(self) -> None:
        """Release any resource held by the stream. The default does nothing."""

    def _read_all(self) -> bytes:
        return b"".join(self)


class AsyncByteStream:
    """Base class for asynchronous bodies: subclasses implement `__aiter__`."""

    __slots__ = ()

    def __aiter__(self) -> AsyncIterator[bytes]:
        raise NotImplementedError(
            f"{type(self).__name__} must implement __aiter__() and yield the body as "
            "bytes chunks (an AsyncByteStream subclass's one duty)."
        )

    async def aclose(self) -> None:
        """Release any resource held by the stream. The default does nothing."""

    async def _aread_all(self) -> bytes:
        return b"".join([chunk async for chunk in self])


class ByteStream(SyncByteStream, AsyncByteStream):
    """An in-memory body: usable sync or async, and replayable any number of times."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A subclass that iterates its own way reads whole bodies by iterating too:
        # `_content` may not even exist in it.
        super().__init_subclass__(**kwargs)
        if cls.__iter__ is not ByteStream.__iter__ and cls._read_all is ByteStream._read_all:
            cls._read_all = SyncByteStream._read_all  # type: ignore[method-assign]
        if cls.__aiter__ is not ByteStream.__aiter__ and cls._aread_all is ByteStream._aread_all:
            cls._aread_all = AsyncByteStream._aread_all  # type: ignore[method-assign]

    def __iter__(self) -> Iterator[bytes]:
        if self._content:
            yield self._content

    def __aiter__(self) -> AsyncIterator[bytes]:
        # An iterator class, not an async generator: nothing is left to finalise if the
        # iteration is abandoned (see _aiterators).
        return AsyncChunks((self._content,) if self._content else ())

    def _read_all(self) -> bytes:
        return self._content

    async def _aread_all(self) -> bytes:
        return self._content

    def __repr__(self) -> str:
        return f"<ByteStream [{len(self._content)} bytes]>"


def ensure_bytes_chunk(chunk: object) -> bytes:
    """Return `chunk` as `bytes`, or raise a `TypeError` naming what it was instead."""
    if type(chunk) is bytes:
        return chunk
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return bytes(chunk)
    if isinstance(chunk, str):
        raise TypeError(
            "Body chunks must be bytes, got a 'str' chunk. Encode text yourself, "
            "for example with chunk.encode('utf-8'), or pass the whole text as content=."
        )
    raise TypeError(f"Body chunks must be bytes, got a {type(chunk).__name__!r} chunk.")


def is_file_like(value: object) -> bool:
    """True for objects read with `.read()` rather than iterated (files, BytesIO, ...)."""
    return callable(getattr(value, "read", None))


def check_binary_file(file: object) -> None:
    """Raise `TypeError` if `file` is a text-mode file (reads would give `str`)."""
    # tempfile's wrappers (NamedTemporaryFile, SpooledTemporaryFile) hide the real file
    # under `.file` / `._file` and are not TextIOBase themselves.
    candidates = (file, getattr(file, "file", None), getattr(file, "_file", None))
    if any(isinstance(candidate, io.TextIOBase) for candidate in candidates):
        raise TypeError(
            f"Files used as a body must be opened in binary mode, but got a text-mode "
            f"{type(file).__name__!r} object. Open it with mode 'rb' (or use io.BytesIO "
            "instead of io.StringIO)."
        )


def peek_file_length(file: Any, *, from_start: bool = False) -> Optional[int]:
    """Number of bytes left to read in `file` (from its start if `from_start`), or None.

    Uses the size of a regular file, else seek/tell; None when neither works (pipes,
    sockets, non-seekable wrappers). The file position is left unchanged.
    """
    try:
        position = 0 if from_start else file.tell()
    except (AttributeError, OSError, ValueError):
        return None
    try:
        status = os.fstat(file.fileno())
    except (AttributeError, OSError, ValueError):
        pass
    else:
        if stat.S_ISREG(status.st_mode):
            return max(status.st_size - position, 0)
    try:
        current = file.tell()
        end = file.seek(0, io.SEEK_END)
        file.seek(current)
    except (AttributeError, OSError, ValueError):
        return None
    return max(end - position, 0) if isinstance(end, int) else None


def _seekable_start(file: Any) -> Optional[int]:
    """The current position of a seekable file, or None when it cannot seek back."""
    try:
        if not file.seekable():
            return None
        position = file.tell()
    except (AttributeError, OSError, ValueError):
        return None
    return position if isinstance(position, int) else None


class IteratorByteStream(SyncByteStream):
    """A synchronous body from an iterable of bytes or a binary file-like object.

    Re-iterable sources (lists, tuples, custom iterables whose `__iter__` starts afresh)
    and seekable files (re-read from the position they had here) replay; iterators,
    generators and non-seekable files are one-shot and raise `StreamConsumed` when
    iterated again.
    """

    def __init__(self, stream: Union[Iterable[bytes], IO[bytes]]) -> None:
        if isinstance(stream, (str, bytes, bytearray, memoryview)):
            raise TypeError(
                f"IteratorByteStream wraps an iterable of bytes chunks, not a "
                f"{type(stream).__name__!r} (use ByteStream for in-memory content)."
            )
        self._source: Any = stream
        self._is_file = is_file_like(stream)
        self._start: Optional[int] = None
        if self._is_file:
            check_binary_file(stream)
            self._start = _seekable_start(stream)
            self._one_shot = self._start is None
        else:
            if not isinstance(stream, Iterable):
                raise TypeError(f"Expected an iterable of bytes, got {type(stream).__name__!r}.")
            self._one_shot = isinstance(stream, Iterator)
        self._started = False

    def __iter__(self) -> Iterator[bytes]:
        if self._started and self._one_shot:
            raise StreamConsumed()
        self._started = True
        if self._is_file:
            return self._iter_file()
        return self._iter_chunks()

    def _iter_chunks(self) -> Iterator[bytes]:
        chunks = iter(self._source)
        try:
            for chunk in chunks:
                if type(chunk) is not bytes:
                    chunk = ensure_bytes_chunk(chunk)
                if chunk:
                    yield chunk
        finally:
            # Closed early (the connection stopped sending): so is a generator given as
            # the body, as in the async twin (AsyncPipeline.aclose).
            if isinstance(chunks, GeneratorType):
                chunks.close()

    def _iter_file(self) -> Iterator[bytes]:
        file = self._source
        if self._start is not None:
            file.seek(self._start)
        read = file.read
        while True:
            chunk = read(CHUNK_SIZE)
            if not chunk:
                return
            if type(chunk) is not bytes:
                if isinstance(chunk, str):
                    # A text file that slipped past check_binary_file (a custom wrapper).
                    raise TypeError(
                        f"Files used as a body must be opened in binary mode, but "
                        f"{type(file).__name__!r}.read() returned str."
                    )
                chunk = ensure_bytes_chunk(chunk)
            yield chunk


class AsyncIteratorByteStream(AsyncByteStream):
    """An asynchronous body from an async iterable of bytes.

    An async iterator or async generator is one-shot (`StreamConsumed` on a second
    iteration); an async iterable whose `__aiter__` starts afresh replays.
    """

    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        if not isinstance(stream, AsyncIterable):
            raise TypeError(f"Expected an async iterable of bytes, got {type(stream).__name__!r}.")
        self._source = stream
        self._one_shot = isinstance(stream, AsyncIterator)
        self._started = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._started and self._one_shot:
            raise StreamConsumed()
        self._started = True
        return AsyncPipeline(self._source.__aiter__, _non_empty_chunk)


def _non_empty_chunk(chunk: bytes) -> tuple[bytes, ...]:
    if type(chunk) is not bytes:
        chunk = ensure_bytes_chunk(chunk)
    return (chunk,) if chunk else ()


class UnattachedStream(SyncByteStream, AsyncByteStream):
    """The stream of an unpickled Request/Response: its body did not survive pickling."""

    __slots__ = ()

    def __iter__(self) -> Iterator[bytes]:
        raise StreamClosed()

    def __aiter__(self) -> AsyncIterator[bytes]:
        raise StreamClosed()
