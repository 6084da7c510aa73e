"""Mount patterns: which transport a client uses for a URL.

A pattern is `scheme://host:port` where each part may be left out or wildcarded:
`"all://"` (every URL), `"https://"` (a scheme), `"all://example.com"` (one host, any
scheme), `"all://*.example.com"` (subdomains only), `"all://*example.com"` (the domain and
its subdomains), `"http://example.com:8080"` (one host and port).

When several patterns match, the most specific wins: a pattern with a port beats one
without, then a longer host beats a shorter one, then a named scheme beats `all`. This is
a total order, so sorting the mounts once at client construction makes lookup a scan
that stops at the first match.
"""

from __future__ import annotations

import re
from typing import Optional

from ._urls import URL

__all__ = ["URLPattern"]


class URLPattern:
    """One `mounts=` key, parsed once."""

    __slots__ = ("_host_regex", "host", "pattern", "port", "scheme")

    def __init__(self, pattern: str) -> None:
        if "://" not in pattern:
            raise ValueError(
                f"Mount pattern {pattern!r} has no scheme: write it like 'all://', "
                "'https://' or 'all://example.com'."
            )
        self.pattern = pattern
        url = URL(pattern)
        self.scheme = "" if url.scheme == "all" else url.scheme
        self.host = "" if url.host == "*" else url.host
        self.port = url.port
        self._host_regex: Optional[re.Pattern[str]] = None
        if self.host.startswith("*."):
            # "*.example.com": subdomains only.
            self._host_regex = re.compile(r"^.+\." + re.escape(self.host[2:]) + r"$")
        elif self.host.startswith("*"):
            # "*example.com": the domain itself and its subdomains.
            domain = re.escape(self.host[1:])
            self._host_regex = re.compile(r"^(.+\.)?" + domain + r"$")

    def matches(self, url: URL) -> bool:
        """Whether `url` falls under this pattern."""
        if self.scheme and url.scheme != self.scheme:
            return False
        if self.host:
            if self._host_regex is not None:
                if not self._host_regex.match(url.host):
                    return False
            elif url.host != self.host:
                return False
        return self.port is None or url.port == self.port

    @property
    def priority(self) -> tuple[int, int, int]:
        """Sort key: smaller is more specific."""
        return (self.port is None, -len(self.host), not self.scheme)

    def __lt__(self, other: URLPattern) -> bool:
        return self.priority < other.priority

    def __eq__(self, other: object) -> bool:
        return isinstance(other, URLPattern) and self.pattern == other.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"URLPattern({self.pattern!r})"
