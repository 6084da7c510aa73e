"""Text encodings: the charset a Content-Type declares, and guessing one from bytes."""

from __future__ import annotations

import codecs
import functools
import re
from typing import Optional

__all__ = ["autodetect_encoding", "charset_from_content_type", "is_known_encoding"]

_CHARSET = re.compile(r';\s*charset\s*=\s*(?:"([^"]*)"|([^\s;]*))', re.IGNORECASE)


def autodetect_encoding(content: bytes) -> Optional[str]:
    """Guess the text encoding of `content` with charset_normalizer (None if it cannot).

    Pass it as `default_encoding=` to decode responses that declare no charset:
    `httpduo.Client(default_encoding=httpduo.autodetect_encoding)`.
    """
    import charset_normalizer  # deferred: only paid for by those who ask for detection

    best = charset_normalizer.from_bytes(content).best()
    return None if best is None else best.encoding


@functools.lru_cache(maxsize=128)
def _is_known_encoding(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


@functools.lru_cache(maxsize=128)
def is_known_encoding(name: str) -> bool:
    """Whether Python has a codec called `name` (cached: charsets repeat)."""
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def charset_from_content_type(content_type: str) -> Optional[str]:
    """The lower-cased `charset` parameter of a Content-Type value, if any."""
    match = _CHARSET.search(content_type)
    if match is None:
        return None
    quoted, bare = match.groups()
    charset = (quoted if quoted is not None else bare).strip().lower()
    return charset or None
