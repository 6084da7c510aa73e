"""multipart/form-data bodies for `files=` (with `data=` as extra fields).

Rules:
- Parts come in order: every `data=` field first, then every file.
- Field names and filenames are escaped as HTML5 forms do, and as httpx 0.28 does:
  `"` -> %22, every control character U+0000-U+001F but ESC -> %XX (CR -> %0D,
  LF -> %0A, NUL -> %00...), backslashes doubled; non-ASCII text is sent as UTF-8.
- Field names must be `str` and values `str`, `bytes`, `int`, `float` (bools as
  `true`/`false`) or None (an empty value), else `TypeError`, as in httpx.
- A boundary given in the request's own `Content-Type: multipart/form-data;
  boundary=...` header is the one the body uses (`boundary_from_content_type`).
- A file part names its Content-Type: the one given, else a guess from the filename,
  else application/octet-stream. A part without a filename (None or "") gets no
  Content-Type unless one is given. A Content-Type in the part's own headers wins over both.
  A line break in a part's content type or headers is refused (`ValueError`): it would
  let the data inject headers or parts (httpx writes it as given).
- Files are streamed in `CHUNK_SIZE` reads, never read whole. Seekable files are sent
  from their start (position 0) on every iteration, so the body replays for redirects
  and auth retries; a non-seekable file makes the body one-shot (`StreamConsumed`).
- Content-Length is sent when every part's size is known (bytes, regular files,
  seekable objects); otherwise the body goes out with Transfer-Encoding: chunked.
- Iterating asynchronously reads files with plain blocking `read()` calls, one chunk at a
  time: uploads are sync file objects by API.
"""

from __future__ import annotations

import binascii
import mimetypes
import os
import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Optional, Union

from ._aiterators import AsyncChunks
from ._exceptions import StreamConsumed
from ._streams import (
    CHUNK_SIZE,
    AsyncByteStream,
    SyncByteStream,
    check_binary_file,
    ensure_bytes_chunk,
    is_file_like,
    peek_file_length,
)
from ._types import FileTypes, RequestData, RequestFiles

__all__ = [
    "DataField",
    "FileField",
    "MultipartStream",
    "boundary_from_content_type",
    "get_multipart_boundary",
]

# ESC (U+001B) is the one C0 control the HTML standard leaves as it is.
_ESCAPES = {chr(code): f"%{code:02X}" for code in range(0x20) if code != 0x1B}
_ESCAPES.update({'"': "%22", "\\": "\\\\"})
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1a\x1c-\x1f"\\]')
# RFC 2046 boundary: 1-70 of these characters, not ending in a space.
_BOUNDARY = re.compile(rb"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
# RFC 9110 token: a boundary made only of these needs no quoting in the Content-Type.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_SAFE = re.compile(r"[^\r\n]*")


# Filenames are not URLs: from 3.13 on, guess_file_type says so (guess_type would read a
# '#' or '?' in the name as the start of a fragment or query).
_guess_type = getattr(mimetypes, "guess_file_type", mimetypes.guess_type)


def _escape(value: str) -> str:
    return _NEEDS_ESCAPE.sub(lambda match: _ESCAPES[match.group(0)], value)


def get_multipart_boundary() -> bytes:
    """A fresh random boundary: 32 hex digits."""
    return binascii.hexlify(os.urandom(16))


def boundary_from_content_type(content_type: Optional[str]) -> Optional[bytes]:
    """The `boundary` parameter of a `multipart/form-data` Content-Type, else None."""
    if content_type is None:
        return None
    media_type, _, parameters = content_type.partition(";")
    if media_type.strip().lower() != "multipart/form-data":
        return None
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "boundary":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value.encode("ascii", "replace")
    return None


def _format_value(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    if value is True:
        return b"true"
    if value is False:
        return b"false"
    if value is None:
        return b""
    if isinstance(value, (int, float)):
        return str(value).encode("ascii")
    raise TypeError(
        f"Invalid type for a multipart form value: expected str, bytes, int, float, bool "
        f"or None (or a list of them), got {type(value).__name__!r} ({value!r})."
    )


class DataField:
    """A plain form field: `Content-Disposition: form-data; name="..."` and its value."""

    __slots__ = ("_head", "name", "value")

    def __init__(self, name: str, value: Any) -> None:
        if not isinstance(name, str):
            raise TypeError(
                f"Multipart form field names must be str, got {type(name).__name__!r} ({name!r})."
            )
        self.name = name
        self.value = _format_value(value)
        self._head = f'Content-Disposition: form-data; name="{_escape(name)}"\r\n\r\n'.encode()

    def render_headers(self) -> bytes:
        return self._head

    def get_length(self) -> int:
        return len(self._head) + len(self.value)

    def render(self) -> Iterator[bytes]:
        yield self._head
        if self.value:
            yield self.value


class FileField:
    """A file part: `file`, `(filename, file)`, `(filename, file, content_type)` or
    `(filename, file, content_type, headers)`; `file` is a binary file object, bytes or str.
    """

    __slots__ = ("_content", "_file", "_head", "_length", "_replayable", "filename", "name")

    def __init__(self, name: str, value: FileTypes) -> None:
        if not isinstance(name, str):
            raise TypeError(
                f"Multipart file field names must be str, got {type(name).__name__!r} ({name!r})."
            )
        self.name = name
        filename: Optional[str]
        content_type: Optional[str] = None
        headers: Mapping[str, str] = {}
        if isinstance(value, tuple):
            if not 2 <= len(value) <= 4:
                raise TypeError(
                    f"A multipart file tuple for field {name!r} must be (filename, file), "
                    f"(filename, file, content_type) or (filename, file, content_type, "
                    f"headers); got a tuple of {len(value)} items."
                )
            filename, file = value[0], value[1]
            if len(value) >= 3:
                content_type = value[2]
            if len(value) == 4 and value[3] is not None:
                headers = value[3]
        else:
            file = value
            name_attr = getattr(value, "name", None)
            filename = os.path.basename(name_attr) if isinstance(name_attr, str) else "upload"
        if filename is not None and not isinstance(filename, str):
            raise TypeError(
                f"The filename of multipart file {name!r} must be str or None, got "
                f"{type(filename).__name__!r}."
            )

        # An empty filename counts as none (httpx does the same): no filename, no guess.
        self.filename = filename or None
        filename = self.filename
        self._content: Optional[bytes] = None
        self._file: Any = None
        if isinstance(file, str):
            self._content = file.encode("utf-8")
        elif isinstance(file, (bytes, bytearray, memoryview)):
            self._content = bytes(file)
        elif is_file_like(file):
            check_binary_file(file)
            self._file = file
        else:
            raise TypeError(
                f"Multipart file {name!r} must be a file opened in binary mode, bytes or "
                f"str, got {type(file).__name__!r}."
            )

        if self._content is not None:
            self._length: Optional[int] = len(self._content)
            self._replayable = True
        else:
            self._length = peek_file_length(self._file, from_start=True)
            try:
                self._replayable = bool(self._file.seekable())
            except (AttributeError, OSError, ValueError):
                self._replayable = False

        has_content_type = any(key.lower() == "content-type" for key in headers)
        if content_type is None and filename is not None and not has_content_type:
            content_type = _guess_type(filename)[0] or "application/octet-stream"

        lines = [f'Content-Disposition: form-data; name="{_escape(name)}"']
        if filename is not None:
            lines[0] += f'; filename="{_escape(filename)}"'
        for key, header_value in headers.items():
            if not _HEADER_SAFE.fullmatch(key) or not _HEADER_SAFE.fullmatch(header_value):
                raise ValueError(
                    f"Header {key!r} of multipart file {name!r} contains a line break."
                )
            lines.append(f"{key}: {header_value}")
        if content_type is not None and not has_content_type:
            if not isinstance(content_type, str) or not _HEADER_SAFE.fullmatch(content_type):
                raise ValueError(
                    f"The content type of multipart file {name!r} must be a str without "
                    f"line breaks, got {content_type!r}."
                )
            lines.append(f"Content-Type: {content_type}")
        self._head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    @property
    def replayable(self) -> bool:
        return self._replayable

    def render_headers(self) -> bytes:
        return self._head

    def get_length(self) -> Optional[int]:
        if self._length is None:
            return None
        return len(self._head) + self._length

    def render(self) -> Iterator[bytes]:
        yield self._head
        if self._content is not None:
            if self._content:
                yield self._content
            return
        file = self._file
        if self._replayable:
            file.seek(0)
        read = file.read
        while True:
            chunk = read(CHUNK_SIZE)
            if not chunk:
                return
            if type(chunk) is not bytes:
                if isinstance(chunk, str):
                    raise TypeError(
                        f"Multipart file {self.name!r} must be opened in binary mode, but "
                        "its read() returned str."
                    )
                chunk = ensure_bytes_chunk(chunk)
            yield chunk


def _iter_fields(data: RequestData, files: RequestFiles) -> Iterator[Union[DataField, FileField]]:
    for name, value in data.items():
        if isinstance(value, (list, tuple)):
            for item in value:
                yield DataField(name, item)
        else:
            yield DataField(name, value)
    file_items: Sequence[tuple[str, FileTypes]] = (
        list(files.items()) if isinstance(files, Mapping) else files
    )
    for name, value in file_items:
        yield FileField(name, value)


class MultipartStream(SyncByteStream, AsyncByteStream):
    """A multipart/form-data body, iterable sync or async.

    `boundary` defaults to 32 random hex digits; a given one must be a valid RFC 2046
    boundary (1-70 characters of letters, digits and `'()+_,-./:=? `).
    """

    __slots__ = ("_fields", "_length", "_replayable", "_started", "boundary", "content_type")

    def __init__(
        self,
        data: RequestData,
        files: RequestFiles,
        boundary: Optional[Union[bytes, str]] = None,
    ) -> None:
        if boundary is None:
            boundary = get_multipart_boundary()
        elif isinstance(boundary, str):
            boundary = boundary.encode("ascii", "replace")
        if not _BOUNDARY.fullmatch(boundary):
            raise ValueError(
                f"Invalid multipart boundary {boundary!r}: use 1 to 70 letters, digits "
                "or ' ( ) + _ , - . / : = ? and space, not ending with a space."
            )
        self.boundary: bytes = boundary
        shown = boundary.decode("ascii")
        if not _TOKEN.fullmatch(boundary):
            shown = f'"{shown}"'
        self.content_type = f"multipart/form-data; boundary={shown}"
        self._fields = list(_iter_fields(data, files))
        self._replayable = all(
            isinstance(field, DataField) or field.replayable for field in self._fields
        )
        self._length = self._compute_length()
        self._started = False

    def _compute_length(self) -> Optional[int]:
        # Each part: "--" boundary CRLF, headers, body, CRLF; then "--" boundary "--" CRLF.
        delimiter = 2 + len(self.boundary) + 2
        total = 0
        for field in self._fields:
            length = field.get_length()
            if length is None:
                return None
            total += delimiter + length + 2
        return total + 2 + len(self.boundary) + 4

    def get_content_length(self) -> Optional[int]:
        """The body's size in bytes, or None when a file's size cannot be known."""
        return self._length

    def get_headers(self) -> dict[str, str]:
        """Content-Length (or Transfer-Encoding: chunked) and Content-Type."""
        if self._length is None:
            return {"Transfer-Encoding": "chunked", "Content-Type": self.content_type}
        return {"Content-Length": str(self._length), "Content-Type": self.content_type}

    def __iter__(self) -> Iterator[bytes]:
        if self._started and not self._replayable:
            raise StreamConsumed()
        self._started = True
        return self._render()

    def _render(self) -> Iterator[bytes]:
        delimiter = b"--" + self.boundary + b"\r\n"
        separator = delimiter
        for field in self._fields:
            parts = field.render()
            # Merge the delimiter into the part's headers: fewer, larger writes.
            yield separator + next(parts)
            yield from parts
            separator = b"\r\n" + delimiter
        if self._fields:
            yield b"\r\n--" + self.boundary + b"--\r\n"
        else:
            yield b"--" + self.boundary + b"--\r\n"

    def __aiter__(self) -> AsyncIterator[bytes]:
        # An iterator class, not an async generator: see _aiterators.
        return AsyncChunks(self.__iter__())
