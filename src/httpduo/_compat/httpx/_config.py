"""`httpx._config`: configuration classes, defaults and the `UNSET` sentinel.

`UnsetType` is httpx's name for the sentinel's class (httpduo's `_Unset`).
"""

from __future__ import annotations

from httpduo._models._config import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_TIMEOUT_CONFIG,
    UNSET,
    Limits,
    Proxy,
    Timeout,
)
from httpduo._models._config import _Unset as UnsetType
from httpduo._models._ssl import create_ssl_context

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_TIMEOUT_CONFIG",
    "UNSET",
    "Limits",
    "Proxy",
    "Timeout",
    "UnsetType",
    "create_ssl_context",
]
