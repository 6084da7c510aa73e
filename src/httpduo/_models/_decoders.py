"""Incremental body decoders: content codings, re-chunking, text and lines.

Rules:
- Every decoder is fed chunk by chunk (`decode`) and finished once (`flush`); chunk
  boundaries may fall anywhere (inside a gzip header, a UTF-8 sequence, a CRLF).
- Content codings: identity, gzip (multi-member), deflate (zlib-wrapped or raw, detected
  from the first bytes), br and zstd (multi-frame) when their packages are installed.
  Corrupt input raises `DecodingError` at once; a compressed body that stops early raises
  it at `flush()`. A body that never received a byte flushes cleanly (HEAD, 204, 304).
- `Content-Encoding: a, b` means a was applied first, so it is undone last; unknown codings
  are ignored, as httpx does. More than `MAX_CODINGS` codings is refused.
- Memory stays bounded however far a body expands: `feed()` then `pull(max_length)`
  hands the decoded body out a piece at a time (zlib's max_length, brotli's
  output_buffer_limit, zstd one block at a time), and a stack of codings refills a layer
  only when it is empty. `decode()` (everything at once) is built on the same calls.
- Text decoding replaces undecodable bytes (U+FFFD) rather than failing.
- `LineDecoder` yields lines without their endings, splitting where `str.splitlines`
  does; a chunk ending in "\\r" waits for the next one in case "\\n" follows.
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Iterable, Iterator, Sequence
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
    "MAX_CODINGS",
    "PULL_SIZE",
    "LineDecoder",
    "MultiDecoder",
    "TextChunker",
    "TextDecoder",
    "ZStandardDecoder",
    "get_content_decoder",
]


# The most one `pull()` of the decoders' own is asked for when the caller has no chunk
# size of its own in mind (read(), iter_bytes() without chunk_size, a stack's layers).
PULL_SIZE = 256 * 1024
# More stacked codings than this is a hostile or broken server, not a real body.
MAX_CODINGS = 5


class ContentDecoder:
    """Base class: undo one content coding, chunk by chunk.

    Two ways to drive one, which can be mixed:
    - `decode(data) -> bytes` gives everything `data` decodes to, and `flush()` ends the
      body (the httpx shape);
    - `feed(data)` then `pull(max_length)` until it returns b"": each pull gives at most
      about `max_length` bytes, so a small compressed chunk can never turn into a large
      buffer (a "decompression bomb" is taken apart piece by piece). `flush()` after the
      last pull ends the body.

    A subclass implements either `feed`/`pull`/`flush` (memory-bounded) or just
    `decode`/`flush` (then `pull` hands out `decode`'s output in pieces).
    """

    __slots__ = ("_decoded",)
    encoding: ClassVar[str] = ""

    def decode(self, data: bytes) -> bytes:
        self.feed(data)
        return self._pull_all()

    def flush(self) -> bytes:
        raise NotImplementedError()  # pragma: no cover

    def feed(self, data: bytes) -> None:
        """Give the decoder more encoded bytes; `pull()` hands out what they decode to."""
        # Only reached by subclasses that implement decode() alone.
        held = getattr(self, "_decoded", None)
        output = self.decode(data)
        self._decoded = memoryview(bytes(held) + output if held else output)

    def pull(self, max_length: int) -> bytes:
        """Up to about `max_length` decoded bytes; b"" when more input is needed."""
        held: Optional[memoryview] = getattr(self, "_decoded", None)
        if not held:
            return b""
        self._decoded = held[max_length:]
        return bytes(held[:max_length])

    def _pull_all(self, size: int = PULL_SIZE) -> bytes:
        pull = self.pull
        first = pull(size)
        if not first:
            return first
        parts = [first]
        while True:
            output = pull(size)
            if not output:
                return b"".join(parts)
            parts.append(output)

    def _corrupt(self, exc: BaseException) -> DecodingError:
        return DecodingError(f"Failed to decode the {self.encoding}-encoded body: {exc}")

    def _truncated(self) -> DecodingError:
        return DecodingError(
            f"The {self.encoding}-encoded body ended before its compressed data was "
            "complete (truncated response?)."
        )


class IdentityDecoder(ContentDecoder):
    """No coding: bytes pass through unchanged."""

    __slots__ = ("_input",)
    encoding = "identity"

    def __init__(self) -> None:
        self._input = b""

    def decode(self, data: bytes) -> bytes:
        return data

    def feed(self, data: bytes) -> None:
        self._input = self._input + data if self._input else data

    def pull(self, max_length: int) -> bytes:
        data = self._input
        if len(data) <= max_length:
            self._input = b""
            return data
        self._input = data[max_length:]
        return data[:max_length]

    def flush(self) -> bytes:
        return self._pull_all()


class _ZlibDecoder(ContentDecoder):
    """What gzip and deflate share: zlib, with its output limit (max_length)."""

    __slots__ = ()

    def decode(self, data: bytes) -> bytes:
        # Everything at once was asked for: zlib's max_length 0 means no limit.
        self.feed(data)
        return self._pull_all(0)

    def _inflate(self, decompressor: Any, data: bytes, max_length: int) -> bytes:
        try:
            output: bytes = decompressor.decompress(data, max_length)
        except zlib.error as exc:
            raise self._corrupt(exc) from exc
        return output


_GZIP_MAGIC = b"\x1f\x8b"


class GZipDecoder(_ZlibDecoder):
    """gzip, including bodies of several concatenated gzip members.

    Bytes after the last member that do not start a new member (padding, garbage) are
    ignored, as browsers and httpx do.
    """

    __slots__ = ("_between_members", "_decompressor", "_full", "_ignore", "_in_member", "_input")
    encoding = "gzip"

    def __init__(self) -> None:
        self._decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._input = b""  # fed, not yet given to zlib (its unconsumed tail)
        self._full = False  # the last pull filled its limit: zlib may hold more output
        self._in_member = False  # bytes fed to the current member, its end not yet seen
        self._between_members = False
        self._ignore = False  # trailing non-gzip bytes seen: discard the rest

    def feed(self, data: bytes) -> None:
        if data and not self._ignore:
            self._input = self._input + data if self._input else data

    def pull(self, max_length: int) -> bytes:
        data = self._input
        if not data and not self._full:
            return b""
        while True:
            if self._between_members:
                if len(data) < len(_GZIP_MAGIC) or not data.startswith(_GZIP_MAGIC):
                    if not _GZIP_MAGIC.startswith(data):
                        self._ignore = True
                        data = b""
                    self._input = data  # maybe the start of another member's magic
                    return b""
                self._decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
                self._between_members = False
            decompressor = self._decompressor
            output = self._inflate(decompressor, data, max_length)
            if decompressor.eof:
                self._in_member = self._full = False
                self._between_members = True
                data = decompressor.unused_data
            else:
                self._in_member = True
                self._full = 0 < max_length <= len(output)
                data = decompressor.unconsumed_tail
            if output or not data:
                self._input = data
                return output

    def flush(self) -> bytes:
        rest = self._pull_all()
        if self._in_member:
            raise self._truncated()
        return rest


class DeflateDecoder(_ZlibDecoder):
    """deflate: zlib-wrapped (RFC 1950) as specified, or raw deflate (RFC 1951) as some
    servers send it. The first two bytes decide: if they are not a valid zlib header the
    body is decoded as raw deflate. Bytes after the end of the stream are ignored.
    """

    __slots__ = ("_decompressor", "_full", "_in_stream", "_input", "_probing")
    encoding = "deflate"

    def __init__(self) -> None:
        self._decompressor = zlib.decompressobj()
        self._input = b""
        self._probing = True  # the format is not decided yet
        self._full = False
        self._in_stream = False

    def feed(self, data: bytes) -> None:
        if data and not self._decompressor.eof:
            self._input = self._input + data if self._input else data
            self._in_stream = True

    def pull(self, max_length: int) -> bytes:
        data = self._input
        if self._probing:
            if len(data) < 2:
                return b""
            self._probing = False
            cmf, flg = data[0], data[1]
            # RFC 1950 header: method 8 (deflate), window <= 32K, and a check value.
            if (cmf & 0x0F) != 8 or (cmf >> 4) > 7 or ((cmf << 8) | flg) % 31:
                self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
        decompressor = self._decompressor
        while data or self._full:
            output = self._inflate(decompressor, data, max_length)
            if decompressor.eof:
                self._in_stream = self._full = False
                self._input = b""
                return output
            self._full = 0 < max_length <= len(output)
            data = self._input = decompressor.unconsumed_tail
            if output:
                return output
        return b""

    def flush(self) -> bytes:
        rest = self._pull_all()
        if self._in_stream:
            raise self._truncated()
        return rest


# Without output_buffer_limit (brotli < 1.2, below the extra's floor), input is fed this
# many bytes at a time: it keeps old bindings working, it does not bound their output.
_BROTLI_SLICE = 1024


class BrotliDecoder(ContentDecoder):
    """br (brotli), with the `brotli` or `brotlicffi` package.

    Output is bounded with the bindings' `output_buffer_limit` (brotli and brotlicffi
    1.2, the `brotli` extra's floor). An older binding installed some other way gets its
    input in small slices, which does NOT bound a bomb's output (a 1 GiB br bomb grew
    memory by 1.1 GiB with brotli 1.0.9).
    """

    __slots__ = ("_busy", "_decompressor", "_in_stream", "_input", "_limited", "_process")
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
        self._limited = _brotli_has_limit(self._process)
        self._input = b""
        self._busy = False  # the decompressor may hold output not handed out yet
        self._in_stream = False

    def feed(self, data: bytes) -> None:
        if data:
            self._input = self._input + data if self._input else data

    def pull(self, max_length: int) -> bytes:
        decompressor = self._decompressor
        while self._input or self._busy:
            data = self._input
            try:
                if self._limited:
                    # New input only once the decompressor has written out the last.
                    if data and decompressor.can_accept_more_data():
                        self._input = b""
                    else:
                        data = b""
                    output: bytes = self._process(data, output_buffer_limit=max_length)
                    # Output may be followed by more (brotli only caps the buffer's
                    # growth), so pulls continue until one comes back empty.
                    self._busy = bool(output) or not decompressor.can_accept_more_data()
                else:
                    self._input = data[_BROTLI_SLICE:]
                    output = self._process(data[:_BROTLI_SLICE])
            except Exception as exc:  # brotli.error / brotlicffi.error: a bare Exception
                raise self._corrupt(exc) from exc
            self._in_stream = not decompressor.is_finished()
            if output:
                return output
            if not data and not self._busy:
                break
        return b""

    def flush(self) -> bytes:
        rest = self._pull_all()
        if self._in_stream:
            raise self._truncated()
        return rest


def _brotli_has_limit(process: Any) -> bool:
    try:
        process(b"", output_buffer_limit=1)
    except TypeError:
        return False
    return True


# zstd frames (RFC 8878): the states of the layout follower below.
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_FCS_SIZES = (0, 2, 4, 8)
_DICT_ID_SIZES = (0, 1, 2, 4)
(
    _MAGIC,
    _DESCRIPTOR,
    _HEADER_REST,
    _BLOCK_HEADER,
    _BLOCK,
    _CHECKSUM,
    _SKIP_SIZE,
    _SKIP,
    _OPAQUE,
) = range(9)
# Sections skipped over whole, and the state after each.
_AFTER_SECTION = {_HEADER_REST: _BLOCK_HEADER, _CHECKSUM: _MAGIC, _SKIP: _MAGIC}


class _ZstdBlocks:
    """Follows the frame layout of a zstd body to find where each block ends.

    zstandard's decompressobj has no output limit, but one block never decodes to more
    than 128 KiB: feeding it up to one block end at a time bounds each call's output.
    Anything that does not parse is passed on whole, for zstandard to reject.
    """

    __slots__ = ("_checksum", "_field", "_last", "_need", "_state")

    def __init__(self) -> None:
        self._state = _MAGIC
        self._need = 4  # bytes left in the current field or section
        self._field = b""  # a field's bytes so far, when it straddles two chunks
        self._checksum = False  # the current frame ends with a 4-byte checksum
        self._last = False  # the current block is the frame's last

    def next_cut(self, data: bytes) -> int:
        """How much of `data` to feed: through the first block end in it, else all."""
        pos, size = 0, len(data)
        while pos < size:
            state = self._state
            if state == _OPAQUE:
                return size
            take = min(self._need, size - pos)
            pos += take
            self._need -= take
            if state == _BLOCK or state in _AFTER_SECTION:
                if self._need:
                    return size
                if state == _BLOCK:
                    self._end_block()
                    return pos
                self._enter(_AFTER_SECTION[state])
                continue
            field = self._field + data[pos - take : pos]
            if self._need:
                self._field = field
                return size
            self._field = b""
            if self._parse(state, field):
                return pos
        return size

    def _enter(self, state: int, need: int = 0) -> None:
        self._state = state
        self._need = need or (3 if state == _BLOCK_HEADER else 4)

    def _end_block(self) -> None:
        if not self._last:
            self._enter(_BLOCK_HEADER)
        else:
            self._enter(_CHECKSUM if self._checksum else _MAGIC)

    def _parse(self, state: int, field: bytes) -> bool:
        """Act on a complete field; True when that ended a block."""
        if state == _MAGIC:
            if field == _ZSTD_MAGIC:
                self._enter(_DESCRIPTOR, 1)
            elif field[0] & 0xF0 == 0x50 and field[1:] == b"\x2a\x4d\x18":
                self._enter(_SKIP_SIZE)  # a skippable frame
            else:
                self._state = _OPAQUE
        elif state == _SKIP_SIZE:
            size = int.from_bytes(field, "little")
            self._enter(_SKIP, size) if size else self._enter(_MAGIC)
        elif state == _DESCRIPTOR:
            flags = field[0]
            single_segment = bool(flags & 0x20)
            self._checksum = bool(flags & 0x04)
            fcs = _FCS_SIZES[flags >> 6] or (1 if single_segment else 0)
            rest = (0 if single_segment else 1) + _DICT_ID_SIZES[flags & 0x03] + fcs
            self._enter(_HEADER_REST, rest) if rest else self._enter(_BLOCK_HEADER)
        elif state == _BLOCK_HEADER:
            header = int.from_bytes(field, "little")
            self._last = bool(header & 1)
            kind, size = (header >> 1) & 3, header >> 3
            if kind == 3:  # reserved: corrupt
                self._state = _OPAQUE
                return False
            if kind == 1:  # RLE: one byte, repeated `size` times
                size = 1
            if size:
                self._enter(_BLOCK, size)
            else:
                self._end_block()
                return True
        return False


class ZStandardDecoder(ContentDecoder):
    """zstd, with the `zstandard` package; a body of several frames is decoded whole."""

    __slots__ = ("_blocks", "_context", "_decompressor", "_in_frame", "_input", "_unused")
    encoding = "zstd"

    def __init__(self) -> None:
        if zstandard is None:
            raise ImportError(
                "Decoding 'Content-Encoding: zstd' needs the zstandard package. Install it "
                "with `pip install httpduo[zstd]`."
            )
        self._context: Any = zstandard.ZstdDecompressor()
        self._decompressor: Any = self._context.decompressobj()
        self._blocks = _ZstdBlocks()
        self._input = b""  # fed, not yet looked at by _blocks
        self._unused = b""  # after a frame's end, looked at: for the next frame
        self._in_frame = False

    def feed(self, data: bytes) -> None:
        if data:
            self._input = self._input + data if self._input else data

    def pull(self, max_length: int) -> bytes:
        # One call decodes at most one block (<= 128 KiB), whatever max_length says.
        while self._input or self._unused:
            data = self._unused
            if data:
                self._unused = b""
            else:
                data = self._input
                cut = self._blocks.next_cut(data)
                if cut < len(data):
                    data, self._input = data[:cut], data[cut:]
                else:
                    self._input = b""
            decompressor = self._decompressor
            if decompressor.eof:
                # A decompressobj handles one frame; the next frame needs a fresh one.
                decompressor = self._decompressor = self._context.decompressobj()
            try:
                output: bytes = decompressor.decompress(data)
            except zstandard.ZstdError as exc:
                raise self._corrupt(exc) from exc
            if decompressor.eof:
                self._in_frame = False
                self._unused = decompressor.unused_data
            else:
                self._in_frame = True
            if output:
                return output
        return b""

    def flush(self) -> bytes:
        rest = self._pull_all()
        if self._in_frame:
            raise self._truncated()
        return rest


class MultiDecoder(ContentDecoder):
    """Several stacked codings. `children` are in the order they were applied (the order
    of the Content-Encoding header), so they are undone in reverse.

    Pulling asks the outermost layer for output and refills a layer from the one below
    only when it has nothing left, so no layer holds more than one piece of input.
    """

    __slots__ = ("_children",)
    encoding = "multi"

    def __init__(self, children: Sequence[ContentDecoder]) -> None:
        self._children = list(reversed(children))

    def feed(self, data: bytes) -> None:
        self._children[0].feed(data)

    def pull(self, max_length: int) -> bytes:
        children = self._children
        top = len(children) - 1
        level = top
        while True:
            output = children[level].pull(max_length)
            if not output:
                if level == 0:
                    return b""
                level -= 1
            elif level == top:
                return output
            else:
                level += 1
                children[level].feed(output)

    def flush(self) -> bytes:
        data = b""
        for child in self._children:
            if data:
                child.feed(data)
            data = child.flush()
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
    More than `MAX_CODINGS` codings raise `DecodingError`, before any decoder is built.
    """
    if isinstance(content_encodings, str):
        content_encodings = (content_encodings,)
    classes: list[type[ContentDecoder]] = []
    for header_value in content_encodings:
        for coding in header_value.split(","):
            decoder_class = SUPPORTED_DECODERS.get(coding.strip().lower())
            if decoder_class is not None and decoder_class is not IdentityDecoder:
                classes.append(decoder_class)
                if len(classes) > MAX_CODINGS:
                    raise DecodingError(
                        f"The Content-Encoding header lists more than {MAX_CODINGS} "
                        "content codings; refusing to decode the body."
                    )
    if not classes:
        return IdentityDecoder()
    if len(classes) == 1:
        return classes[0]()
    return MultiDecoder([decoder_class() for decoder_class in classes])


def _check_chunk_size(chunk_size: Optional[int]) -> Optional[int]:
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer or None, not {chunk_size!r}.")
    return chunk_size


class ByteChunker:
    """Re-cut a byte stream into `chunk_size` pieces (the last may be shorter); with
    `chunk_size=None`, pass non-empty chunks through as they come.

    `split()` yields the pieces lazily; `decode()` returns them as a list.
    """

    __slots__ = ("_buffer", "_chunk_size")

    def __init__(self, chunk_size: Optional[int] = None) -> None:
        self._chunk_size = _check_chunk_size(chunk_size)
        self._buffer = bytearray()  # the start of the next piece: < chunk_size bytes

    def decode(self, content: bytes) -> list[bytes]:
        return list(self.split(content))

    def split(self, content: bytes) -> Iterator[bytes]:
        """The complete pieces `content` makes, one at a time; the rest is kept."""
        size = self._chunk_size
        end = len(content)
        if size is None:
            if end:
                yield content
            return
        buffer = self._buffer
        start = 0
        if buffer:
            start = size - len(buffer)
            if end < start:
                buffer += content
                return
            buffer += memoryview(content)[:start]
            piece = bytes(buffer)
            buffer.clear()
            yield piece
        elif end == size:
            yield content
            return
        tail = end - (end - start) % size
        # Slicing bytes copies one piece, never the rest of the content.
        for offset in range(start, tail, size):
            yield content[offset : offset + size]
        if tail < end:
            self._buffer += memoryview(content)[tail:]

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
