"""Choosing the HTTP/1.1 codec: h11 (always installed) or llhttp (the `speedups` extra).

Rules:
- `resolve_codec_factory(choice)` is called once per transport and returns the codec
  class each new connection instantiates: no import, no environment lookup per request.
- "h11" and "llhttp" are explicit and win over the environment. "auto" (the default)
  first reads `HTTPDUO_HTTP1_CODEC` (h11 | llhttp | auto; unset or empty means auto),
  then picks llhttp when httptools (>= 0.6.4) imports, h11 otherwise.
- A forced "llhttp" without httptools raises ImportError naming the extra to install;
  an unknown choice, from either source, raises ValueError listing the valid values.
"""

from __future__ import annotations

import os
from typing import Callable, Final

from .base import HTTP11Codec

__all__ = ["CODEC_CHOICES", "ENV_VAR", "resolve_codec_factory"]

ENV_VAR: Final = "HTTPDUO_HTTP1_CODEC"
CODEC_CHOICES: Final = ("auto", "h11", "llhttp")

CodecFactory = Callable[[], HTTP11Codec]


def _h11() -> CodecFactory:
    from .h11 import H11Codec

    return H11Codec


def _llhttp(source: str) -> CodecFactory:
    try:
        from .llhttp import LLHTTPCodec
    except ImportError as exc:
        raise ImportError(
            f"The llhttp HTTP/1.1 codec was requested ({source}) but cannot be used: {exc}. "
            "Install it with: pip install 'httpduo[speedups]'"
        ) from exc
    return LLHTTPCodec


def _invalid(value: str, source: str) -> ValueError:
    valid = ", ".join(repr(choice) for choice in CODEC_CHOICES)
    return ValueError(f"Invalid HTTP/1.1 codec {value!r} ({source}): expected one of {valid}.")


def resolve_codec_factory(choice: str = "auto") -> CodecFactory:
    """The codec class for `choice` ("h11", "llhttp" or "auto"); see the module rules."""
    if choice not in CODEC_CHOICES:
        raise _invalid(choice, "http1_codec argument")
    source = f"http1_codec={choice!r}"
    if choice == "auto":
        env = os.environ.get(ENV_VAR, "").strip().lower()
        if env and env != "auto":
            if env not in CODEC_CHOICES:
                raise _invalid(os.environ[ENV_VAR], f"environment variable {ENV_VAR}")
            choice = env
            source = f"{ENV_VAR}={env}"
    if choice == "h11":
        return _h11()
    if choice == "llhttp":
        return _llhttp(source)
    try:
        return _llhttp(source)
    except ImportError:
        return _h11()
