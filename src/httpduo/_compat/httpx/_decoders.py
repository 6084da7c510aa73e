"""`httpx._decoders`: content decoders and the chunkers behind `iter_bytes`/`iter_text`."""

from __future__ import annotations

from httpduo._models._decoders import (
    SUPPORTED_DECODERS,
    BrotliDecoder,
    ByteChunker,
    ContentDecoder,
    DeflateDecoder,
    GZipDecoder,
    IdentityDecoder,
    LineDecoder,
    MultiDecoder,
    TextChunker,
    TextDecoder,
    ZStandardDecoder,
)

__all__ = [
    "SUPPORTED_DECODERS",
    "BrotliDecoder",
    "ByteChunker",
    "ContentDecoder",
    "DeflateDecoder",
    "GZipDecoder",
    "IdentityDecoder",
    "LineDecoder",
    "MultiDecoder",
    "TextChunker",
    "TextDecoder",
    "ZStandardDecoder",
]
