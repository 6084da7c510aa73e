"""`httpx._api`: the top-level request functions."""

from __future__ import annotations

from httpduo._api import delete, get, head, options, patch, post, put, request, stream

__all__ = ["delete", "get", "head", "options", "patch", "post", "put", "request", "stream"]
