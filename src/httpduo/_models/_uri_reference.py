"""`URIReference`: a `URL`'s components, shaped like httpx's `ParseResult`.

A compatibility name: httpx keeps a URL's parsed components in `URL._uri_reference`,
and packages built on httpx read them there (respx checks `.path` to decide whether a
URL has a path; litellm logs it). httpduo's `URL` holds the same components itself, so
`URL._uri_reference` builds this small tuple on demand; no request path uses it.

Fields, as httpx gives them: `scheme` lower-cased; `userinfo` percent-encoded; `host`
lower-cased and IDNA-encoded, an IPv6 address without brackets; `port` an int, None when
absent or the scheme's default; `path` percent-encoded ("" when empty); `query` and
`fragment` percent-encoded, None when absent ("" when present but empty).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from ._urlparse import unparse

__all__ = ["URIReference"]


class URIReference(NamedTuple):
    """The parsed components of a URL (httpx's `URL._uri_reference`)."""

    scheme: str
    userinfo: str
    host: str
    port: Optional[int]
    path: str
    query: Optional[str]
    fragment: Optional[str]

    @property
    def netloc(self) -> str:
        """host[:port], an IPv6 host in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    @property
    def authority(self) -> str:
        """[userinfo@]host[:port]."""
        netloc = self.netloc
        return f"{self.userinfo}@{netloc}" if self.userinfo else netloc

    def __str__(self) -> str:
        return unparse(self)
