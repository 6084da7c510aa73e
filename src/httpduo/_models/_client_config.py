"""Client-level defaults and merging rules shared by `Client` and `AsyncClient`.

- Default request headers: `Accept: */*`, `Accept-Encoding` listing only the decoders
  installed here, `Connection: keep-alive`, `User-Agent: python-httpduo/<version>`.
- `base_url` always ends with "/", and a relative request URL is appended to it with
  its leading "/" removed: `base_url="https://api/v1"` + `"/users"` → `https://api/v1/users`.
"""

from __future__ import annotations

from typing import Final

from .._version import __version__
from ._decoders import SUPPORTED_DECODERS
from ._headers import Headers
from ._urls import URL

__all__ = [
    "ACCEPT_ENCODING",
    "USER_AGENT",
    "default_headers",
    "enforce_trailing_slash",
    "merge_url",
]

USER_AGENT: Final = f"python-httpduo/{__version__}"
ACCEPT_ENCODING: Final = ", ".join(name for name in SUPPORTED_DECODERS if name != "identity")


def default_headers() -> Headers:
    return Headers(
        [
            ("Accept", "*/*"),
            ("Accept-Encoding", ACCEPT_ENCODING),
            ("Connection", "keep-alive"),
            ("User-Agent", USER_AGENT),
        ]
    )


def enforce_trailing_slash(url: URL) -> URL:
    if url.raw_path.endswith(b"/"):
        return url
    return url.copy_with(raw_path=url.raw_path + b"/")


def merge_url(base_url: URL, url: URL) -> URL:
    """Resolve a request URL against the client's `base_url` (which ends with "/")."""
    if url.is_relative_url and base_url.raw_host:
        return base_url.copy_with(raw_path=base_url.raw_path + url.raw_path.lstrip(b"/"))
    return url
