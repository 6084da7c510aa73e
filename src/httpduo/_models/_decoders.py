"""Incremental body decoders: content codings, re-chunking, text and lines.

Rules:
- Every decoder is fed chunk by chunk (`decode`) and finished once (`flush`); chunk
  boundaries may fall anywhere (inside a gzip header, a UTF-8 sequence, a CRLF).
- Content codings: identity, gzip (multi-member), deflate (zlib-wrapped or raw, detected
  from the first bytes), br and zstd (multi-frame) when their packages are installed.
  Corrupt input raises `DecodingError` at once; a compressed body that stops early raises
  it at `flush()`. A body that never received a byte flushes cleanly (HEAD, 204, 304).
- `Content-Encoding: a, b` means a was applied first, so it is undone last; unknown codings
  are ignored, as httpx does.
- Text decoding replaces undecodable bytes (U+FFFD) rather than failing.
- `LineDecoder` yields lines without their endings, splitting where `str.splitlines`
  does; a chunk ending in "\\r" waits for the next one in case "\\n" follows.
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Optional, Union

from ._exceptions import DecodingError

try:
    import brotli
except ImportError:  # pragma: no cover - depends on the environment
    try:
        import brotlicffi as brotli
    except ImportError:
        brotli = None

try:
    import zstandard
except ImportError:  # pragma: no cover - depends on the environment
    zstandard = None  # type: ignore[assignment]

__all__ = [
    "SUPPORTED_DECODERS",
    "BrotliDecoder",
    "ByteChunker",
    "ContentDecoder",
    "DeflateDecoder",
    "GZipDecoder",
    "IdentityDecoder",
    "LineDecoder",
    "MultiDecoder",
    "TextChunker",
    "TextDecoder",
    "ZStandardDecoder",
    "get_content_decoder",
]


class ContentDecoder:
    """Base class: undo one content coding, chunk by chunk."""

    __slots__ = ()
    encoding: ClassVar[str] = ""

    def decode(self, data: bytes) -> bytes:
        raise NotImplementedError()  # pragma: no cover

    def flush(self) -> bytes:
        raise NotImplementedError()  # pragma: no cover

    def _corrupt(self, exc: BaseException) -> DecodingError:
        return DecodingError(f"Failed to decode the {self.encoding}-encoded body: {exc}")

    def _truncated(self) -> DecodingError:
        return DecodingError(
            f"The {self.encoding}-encoded body ended before its compressed data was "
            "complete (truncated response?)."
        )


class IdentityDecoder(ContentDecoder):
    """No coding: bytes pass through unchanged."""

    __slots__ = ()
    encoding = "identity"

    def decode(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


_GZIP_MAGIC = b"\x1f\x8b"


class GZipDecoder(ContentDecoder):
    """gzip, including bodies of several concatenated gzip members.

    Bytes after the last member that do not start a new member (padding, garbage) are
    ignored, as browsers and httpx do.
    """

    __slots__ = ("_between_members", "_decompressor", "_ignore", "_in_member", "_pending")
    encoding = "gzip"

    def __init__(self) -> None:
        self._decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._in_member = False  # bytes fed to the current member, its end not yet seen
        self._between_members = False
        self._pending = b""  # the start of what may be another member's magic number
        self._ignore = False  # trailing non-gzip bytes seen: discard the rest

    def decode(self, data: bytes) -> bytes:
        if self._ignore or not data:
            return b""
        output = []
        while data:
            if self._between_members:
                data = self._pending + data
                if len(data) < len(_GZIP_MAGIC):
                    if _GZIP_MAGIC.startswith(data):
                        self._pending = data
                    else:
                        self._ignore = True
                    break
                self._pending = b""
                if not data.startswith(_GZIP_MAGIC):
                    self._ignore = True
                    break
                self._decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
                self._between_members = False
            try:
                output.append(self._decompressor.decompress(data))
            except zlib.error as exc:
                raise self._corrupt(exc) from exc
            if self._decompressor.eof:
                self._in_member = False
                self._between_members = True
                data = self._decompressor.unused_data
            else:
                self._in_member = True
                data = b""
        return b"".join(output)

    def flush(self) -> bytes:
        if self._in_member:
            raise self._truncated()
        return b""


class DeflateDecoder(ContentDecoder):
    """deflate: zlib-wrapped (RFC 1950) as specified, or raw deflate (RFC 1951) as some
    servers send it. The first two bytes decide: if they are not a valid zlib header the
    body is decoded as raw deflate. Bytes after the end of the stream are ignored.
    """

    __slots__ = ("_decompressor", "_in_stream", "_probe")
    encoding = "deflate"

    def __init__(self) -> None:
        self._decompressor = zlib.decompressobj()
        self._probe: Optional[bytes] = b""  # None once the format is decided
        self._in_stream = False

    def decode(self, data: bytes) -> bytes:
        if self._probe is not None:
            data = self._probe + data
            if len(data) < 2:
                self._probe = data
                self._in_stream = bool(data)
                return b""
            self._probe = None
            cmf, flg = data[0], data[1]
            # RFC 1950 header: method 8 (deflate), window <= 32K, and a check value.
            if (cmf & 0x0F) != 8 or (cmf >> 4) > 7 or ((cmf << 8) | flg) % 31:
                self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._feed(data)

    def _feed(self, data: bytes) -> bytes:
        if not data or self._decompressor.eof:
            return b""
        try:
            output = self._decompressor.decompress(data)
        except zlib.error as exc:
            raise self._corrupt(exc) from exc
        self._in_stream = not self._decompressor.eof
        return output

    def flush(self) -> bytes:
        if self._in_stream:
            raise self._truncated()
        return b""


class BrotliDecoder(ContentDecoder):
    """br (brotli), with the `brotli` or `brotlicffi` package."""

    __slots__ = ("_decompressor", "_in_stream", "_process")
    encoding = "br"

    def __init__(self) -> None:
        if brotli is None:
            raise ImportError(
                "Decoding 'Content-Encoding: br' needs the brotli package. Install it with "
                "`pip install httpduo[brotli]` (brotli on CPython, brotlicffi elsewhere)."
            )
        self._decompressor: Any = brotli.Decompressor()
        # brotli names the method process(); older brotlicffi only has decompress().
        self._process = getattr(self._decompressor, "process", None) or (
            self._decompressor.decompress
        )
        self._in_stream = False

    def decode(self, data: bytes) -> bytes:
        if not data:
            return b""
        try:
            output: bytes = self._process(data)
        except Exception as exc:  # brotli.error / brotlicffi.error: a bare Exception subclass
            raise self._corrupt(exc) from exc
        self._in_stream = not self._decompressor.is_finished()
        return output

    def flush(self) -> bytes:
        if self._in_stream:
            raise self._truncated()
        return b""


class ZStandardDecoder(ContentDecoder):
    """zstd, with the `zstandard` package; a body of several frames is decoded whole."""

    __slots__ = ("_context", "_decompressor", "_in_frame")
    encoding = "zstd"

    def __init__(self) -> None:
        if zstandard is None:
            raise ImportError(
                "Decoding 'Content-Encoding: zstd' needs the zstandard package. Install it "
                "with `pip install httpduo[zstd]`."
            )
        self._context: Any = zstandard.ZstdDecompressor()
        self._decompressor: Any = self._context.decompressobj()
        self._in_frame = False

    def decode(self, data: bytes) -> bytes:
        output = []
        while data:
            if self._decompressor.eof:
                # A decompressobj handles one frame; the next frame needs a fresh one.
                self._decompressor = self._context.decompressobj()
            try:
                output.append(self._decompressor.decompress(data))
            except zstandard.ZstdError as exc:
                raise self._corrupt(exc) from exc
            if self._decompressor.eof:
                self._in_frame = False
                data = self._decompressor.unused_data
            else:
                self._in_frame = True
                data = b""
        return b"".join(output)

    def flush(self) -> bytes:
        if self._in_frame:
            raise self._truncated()
        return b""


class MultiDecoder(ContentDecoder):
    """Several stacked codings. `children` are in the order they were applied (the order
    of the Content-Encoding header), so they are undone in reverse.
    """

    __slots__ = ("_children",)
    encoding = "multi"

    def __init__(self, children: Sequence[ContentDecoder]) -> None:
        self._children = list(reversed(children))

    def decode(self, data: bytes) -> bytes:
        for child in self._children:
            data = child.decode(data)
        return data

    def flush(self) -> bytes:
        data = b""
        for child in self._children:
            data = child.decode(data) + child.flush()
        return data


SUPPORTED_DECODERS: dict[str, type[ContentDecoder]] = {
    "identity": IdentityDecoder,
    "gzip": GZipDecoder,
    "deflate": DeflateDecoder,
}
if brotli is not None:
    SUPPORTED_DECODERS["br"] = BrotliDecoder
if zstandard is not None:
    SUPPORTED_DECODERS["zstd"] = ZStandardDecoder


def get_content_decoder(content_encodings: Union[str, Iterable[str]]) -> ContentDecoder:
    """The decoder for Content-Encoding value(s), e.g. `"gzip, br"` or `["gzip", "br"]`.

    Codings are matched case-insensitively; identity and unknown codings are skipped.
    """
    if isinstance(content_encodings, str):
        content_encodings = (content_encodings,)
    children: list[ContentDecoder] = []
    for header_value in content_encodings:
        for coding in header_value.split(","):
            decoder_class = SUPPORTED_DECODERS.get(coding.strip().lower())
            if decoder_class is not None and decoder_class is not IdentityDecoder:
                children.append(decoder_class())
    if not children:
        return IdentityDecoder()
    if len(children) == 1:
        return children[0]
    return MultiDecoder(children)


def _check_chunk_size(chunk_size: Optional[int]) -> Optional[int]:
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer or None, not {chunk_size!r}.")
    return chunk_size


class ByteChunker:
    """Re-cut a byte stream into `chunk_size` pieces (the last may be shorter); with
    `chunk_size=None`, pass non-empty chunks through as they come.
    """

    __slots__ = ("_buffer", "_chunk_size")

    def __init__(self, chunk_size: Optional[int] = None) -> None:
        self._chunk_size = _check_chunk_size(chunk_size)
        self._buffer = bytearray()

    def decode(self, content: bytes) -> list[bytes]:
        size = self._chunk_size
        if size is None:
            return [content] if content else []
        if not self._buffer and len(content) == size:
            return [content]
        self._buffer += content
        usable = len(self._buffer) - len(self._buffer) % size
        if not usable:
            return []
        view = bytes(self._buffer[:usable])
        del self._buffer[:usable]
        return [view[start : start + size] for start in range(0, usable, size)]

    def flush(self) -> list[bytes]:
        if not self._buffer:
            return []
        rest = bytes(self._buffer)
        self._buffer.clear()
        return [rest]


class TextChunker:
    """Re-cut a text stream into `chunk_size` characters; None passes chunks through."""

    __slots__ = ("_buffer", "_chunk_size")

    def __init__(self, chunk_size: Optional[int] = None) -> None:
        self._chunk_size = _check_chunk_size(chunk_size)
        self._buffer = ""

    def decode(self, content: str) -> list[str]:
        size = self._chunk_size
        if size is None:
            return [content] if content else []
        text = self._buffer + content
        usable = len(text) - len(text) % size
        self._buffer = text[usable:]
        return [text[start : start + size] for start in range(0, usable, size)]

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer, ""
        return [rest] if rest else []


class TextDecoder:
    """Bytes to text in `encoding`, incrementally; undecodable bytes become U+FFFD."""

    __slots__ = ("_decoder",)

    def __init__(self, encoding: str = "utf-8") -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")

    def decode(self, data: bytes) -> str:
        return self._decoder.decode(data)

    def flush(self) -> str:
        return self._decoder.decode(b"", True)


# Every character str.splitlines() breaks on.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


class LineDecoder:
    """Split a text stream into lines, without line endings, across chunk boundaries."""

    __slots__ = ("_buffer", "_trailing_cr")

    def __init__(self) -> None:
        self._buffer: list[str] = []  # the current, unfinished line
        self._trailing_cr = False

    def decode(self, text: str) -> list[str]:
        if self._trailing_cr:
            text = "\r" + text
            self._trailing_cr = False
        if text.endswith("\r"):
            # Maybe the first half of "\r\n": hold it until the next chunk says.
            self._trailing_cr = True
            text = text[:-1]
        if not text:
            return []
        complete = text[-1] in _LINE_BREAKS
        lines = text.splitlines()
        if not complete and len(lines) == 1:
            self._buffer.append(lines[0])  # joined once, when the line ends
            return []
        if self._buffer:
            lines[0] = "".join(self._buffer) + lines[0]
            self._buffer = []
        if not complete:
            self._buffer.append(lines.pop())
        return lines

    def flush(self) -> list[str]:
        if not self._buffer and not self._trailing_cr:
            return []
        line = "".join(self._buffer)
        self._buffer = []
        self._trailing_cr = False
        return [line]
