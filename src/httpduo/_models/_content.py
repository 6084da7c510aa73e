"""Turn `content=`/`data=`/`files=`/`json=` (or `text=`/`html=`) into headers and a stream.

Rules:
- The result is `(headers, stream)`: the headers the body implies (Content-Length or
  Transfer-Encoding: chunked, and Content-Type) and the body itself. The caller merges the
  headers, letting ones the user set explicitly win.
- Precedence for requests: content, then files (with data as extra fields), then data,
  then json. No body at all gives `({}, ByteStream(b""))`; an empty `content=` likewise.
  It is the Request's job to add `Content-Length: 0` for a body-less POST/PUT/PATCH.
- A length known up front (bytes, text, forms, JSON, files whose size can be measured)
  gives Content-Length; iterables and unmeasurable files stream chunked.
- Text is UTF-8. JSON is compact (`separators=(",", ":")`), non-ASCII kept as UTF-8,
  NaN/Infinity refused (`ValueError`).
"""

from __future__ import annotations

import json as jsonlib
import warnings
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any, Optional, Union
from urllib.parse import urlencode

from ._multipart import MultipartStream
from ._streams import (
    AsyncByteStream,
    AsyncIteratorByteStream,
    ByteStream,
    IteratorByteStream,
    SyncByteStream,
    is_file_like,
    peek_file_length,
)
from ._types import RequestContent, RequestData, RequestFiles, ResponseContent

__all__ = ["encode_json", "encode_request", "encode_response"]

Stream = Union[SyncByteStream, AsyncByteStream]


def _encode_content(
    content: Union[RequestContent, ResponseContent],
) -> tuple[dict[str, str], Stream]:
    if isinstance(content, (str, bytes, bytearray, memoryview)):
        body = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        if not body:
            return {}, ByteStream(b"")
        return {"Content-Length": str(len(body))}, ByteStream(body)
    if is_file_like(content):
        # The body is what is left to read from the file's current position.
        length = peek_file_length(content)
        stream = IteratorByteStream(content)  # type: ignore[arg-type]
        if length is None:
            return {"Transfer-Encoding": "chunked"}, stream
        return {"Content-Length": str(length)}, stream
    if isinstance(content, Iterable):
        return {"Transfer-Encoding": "chunked"}, IteratorByteStream(content)
    if isinstance(content, AsyncIterable):
        return {"Transfer-Encoding": "chunked"}, AsyncIteratorByteStream(content)
    raise TypeError(
        f"Unexpected type for 'content': {type(content).__name__!r}. Expected str, bytes, "
        "a binary file, or a (sync or async) iterable of bytes."
    )


def _form_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def _encode_urlencoded(data: RequestData) -> tuple[dict[str, str], Stream]:
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        if isinstance(value, (list, tuple)):
            pairs.extend((str(key), _form_value(item)) for item in value)
        else:
            pairs.append((str(key), _form_value(value)))
    body = urlencode(pairs).encode("ascii")
    headers = {
        "Content-Length": str(len(body)),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return headers, ByteStream(body)


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, as sent for `json=`; NaN and infinities raise `ValueError`."""
    return jsonlib.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )


def _encode_json(value: Any) -> tuple[dict[str, str], Stream]:
    body = encode_json(value)
    headers = {"Content-Length": str(len(body)), "Content-Type": "application/json"}
    return headers, ByteStream(body)


def _encode_text(text: str, content_type: str) -> tuple[dict[str, str], Stream]:
    body = text.encode("utf-8")
    headers = {"Content-Length": str(len(body)), "Content-Type": content_type}
    return headers, ByteStream(body)


def encode_request(
    content: Optional[RequestContent] = None,
    data: Optional[RequestData] = None,
    files: Optional[RequestFiles] = None,
    json: Optional[Any] = None,
    boundary: Optional[bytes] = None,
) -> tuple[dict[str, str], Stream]:
    """Headers and stream for a request body given as content, data, files or json."""
    if content is not None:
        return _encode_content(content)
    if data is not None and not isinstance(data, Mapping):
        # Raw bodies passed as data= still work, as in httpx, but are deprecated.
        warnings.warn(
            "Use 'content=<...>' to upload raw bytes/text content.",
            DeprecationWarning,
            stacklevel=2,
        )
        return _encode_content(data)
    if files:
        stream = MultipartStream(data=data or {}, files=files, boundary=boundary)
        return stream.get_headers(), stream
    if data:
        return _encode_urlencoded(data)
    if json is not None:
        return _encode_json(json)
    return {}, ByteStream(b"")


def encode_response(
    content: Optional[ResponseContent] = None,
    text: Optional[str] = None,
    html: Optional[str] = None,
    json: Optional[Any] = None,
) -> tuple[dict[str, str], Stream]:
    """Headers and stream for a response body given as content, text, html or json."""
    if content is not None:
        return _encode_content(content)
    if text is not None:
        return _encode_text(text, "text/plain; charset=utf-8")
    if html is not None:
        return _encode_text(html, "text/html; charset=utf-8")
    if json is not None:
        return _encode_json(json)
    return {}, ByteStream(b"")
