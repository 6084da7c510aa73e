"""The opt-in limit on a response body's size (request extensions, beyond httpx).

Rules:
- `extensions={"max_response_body": n}` limits the body as the caller gets it (after
  content decoding); `"max_response_download": n` limits the bytes received (after
  transfer decoding, before content decoding: what `num_bytes_downloaded` counts).
  Either may be given alone; None or absent means no limit.
- The limit is checked as the body comes in, piece by piece, so no more than one piece
  (<= 256 KiB, or the chunk size asked for) is spent past it; a `Content-Length` that
  already says too much is refused before a byte of the body is read.
- Passing it raises `ResponseTooLarge`; the caller (`ResponseBody`) closes the response.
"""

from __future__ import annotations

from typing import Any, Optional

from ._exceptions import ResponseTooLarge
from ._headers import Headers

__all__ = ["BODY_LIMIT", "DOWNLOAD_LIMIT", "BodyLimit", "body_limit"]

BODY_LIMIT = "max_response_body"
DOWNLOAD_LIMIT = "max_response_download"


def _check(name: str, value: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"The {name!r} extension must be a number of bytes (an int >= 0) or None, "
            f"not {value!r}."
        )
    return value


class BodyLimit:
    """The limits one response is read under, and what was counted against them."""

    __slots__ = ("body", "download")

    def __init__(self, body: Optional[int], download: Optional[int]) -> None:
        self.body = body
        self.download = download

    def check_length(self, headers: Headers, decoded: bool) -> None:
        """Refuse up front a body whose Content-Length passes a limit that applies to
        it: the download limit always, the body limit when nothing decodes the body."""
        length = headers.get("content-length")
        if length is None or not length.isdigit():
            return
        size = int(length)
        if self.download is not None and size > self.download:
            raise self._too_large(DOWNLOAD_LIMIT, self.download, f"its Content-Length is {size}")
        if not decoded and self.body is not None and size > self.body:
            raise self._too_large(BODY_LIMIT, self.body, f"its Content-Length is {size}")

    def check_download(self, received: int) -> None:
        limit = self.download
        if limit is not None and received > limit:
            raise self._too_large(DOWNLOAD_LIMIT, limit, f"{received} bytes were received")

    def check_body(self, decoded: int) -> None:
        limit = self.body
        if limit is not None and decoded > limit:
            raise self._too_large(BODY_LIMIT, limit, f"it decoded to {decoded} bytes so far")

    @staticmethod
    def _too_large(name: str, limit: int, what: str) -> ResponseTooLarge:
        return ResponseTooLarge(
            f"The response body is larger than the {name}={limit} bytes the request "
            f"allows ({what}); the response was closed."
        )


def body_limit(extensions: Optional[dict[str, Any]]) -> Optional[BodyLimit]:
    """The limits a request's extensions ask for, or None (the usual case)."""
    if not extensions:
        return None
    body = extensions.get(BODY_LIMIT)
    download = extensions.get(DOWNLOAD_LIMIT)
    if body is None and download is None:
        return None
    return BodyLimit(_check(BODY_LIMIT, body), _check(DOWNLOAD_LIMIT, download))
