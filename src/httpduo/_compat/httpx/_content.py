"""`httpx._content`: body streams and the body encoders, with httpx's signatures.

Compatibility names: pytest-httpx builds its streams on `IteratorByteStream` and
`AsyncIteratorByteStream`; each `encode_*` returns `(headers, stream)` as httpx's does.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from httpduo._models._content import (
    _encode_content,
    _encode_json,
    _encode_text,
    _encode_urlencoded,
    encode_request,
    encode_response,
)
from httpduo._models._multipart import MultipartStream
from httpduo._models._streams import (
    AsyncByteStream,
    AsyncIteratorByteStream,
    ByteStream,
    IteratorByteStream,
    SyncByteStream,
    UnattachedStream,
)
from httpduo._models._types import RequestContent, RequestData, RequestFiles, ResponseContent

__all__ = [
    "AsyncIteratorByteStream",
    "ByteStream",
    "IteratorByteStream",
    "UnattachedStream",
    "encode_content",
    "encode_html",
    "encode_json",
    "encode_multipart_data",
    "encode_request",
    "encode_response",
    "encode_text",
    "encode_urlencoded_data",
]

_Encoded = tuple[dict[str, str], Union[SyncByteStream, AsyncByteStream]]


def encode_content(content: Union[RequestContent, ResponseContent]) -> _Encoded:
    """Headers and stream for raw content (str, bytes, a file or an iterable of bytes)."""
    return _encode_content(content)


def encode_urlencoded_data(data: RequestData) -> _Encoded:
    """Headers and stream for an `application/x-www-form-urlencoded` body."""
    return _encode_urlencoded(data)


def encode_multipart_data(
    data: RequestData, files: RequestFiles, boundary: Optional[bytes]
) -> tuple[dict[str, str], MultipartStream]:
    """Headers and stream for a `multipart/form-data` body."""
    stream = MultipartStream(data=data, files=files, boundary=boundary)
    return stream.get_headers(), stream


def encode_text(text: str) -> _Encoded:
    """Headers and stream for a `text/plain` body."""
    return _encode_text(text, "text/plain; charset=utf-8")


def encode_html(html: str) -> _Encoded:
    """Headers and stream for a `text/html` body."""
    return _encode_text(html, "text/html; charset=utf-8")


def encode_json(json: Any) -> _Encoded:
    """Headers and stream for an `application/json` body."""
    return _encode_json(json)
