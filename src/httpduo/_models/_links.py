"""Parsing the Link header (RFC 8288) for `Response.links`."""

from __future__ import annotations

import re

__all__ = ["parse_links"]

# Link header (RFC 8288): `<url>; name=value; name="quoted", <url2>...`.
_LINK_TARGET = re.compile(r"[\s,]*<([^>]*)>")
_LINK_PARAM = re.compile(r'\s*;\s*([^\s=;,]+)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^;,]*)))?')
_QUOTED_PAIR = re.compile(r"\\(.)")


def parse_links(header: str) -> list[dict[str, str]]:
    """Each link as a dict: "url" plus its parameters (names lower-cased)."""
    links: list[dict[str, str]] = []
    position = 0
    while True:
        target = _LINK_TARGET.search(header, position)
        if target is None:
            return links
        link = {"url": target.group(1).strip()}
        position = target.end()
        while True:
            param = _LINK_PARAM.match(header, position)
            if param is None:
                break
            position = param.end()
            quoted, bare = param.group(2), param.group(3)
            value = (bare or "").strip() if quoted is None else _QUOTED_PAIR.sub(r"\1", quoted)
            # RFC 8288 section 3.3: a repeated parameter's later occurrences are ignored.
            link.setdefault(param.group(1).lower(), value)
        links.append(link)
