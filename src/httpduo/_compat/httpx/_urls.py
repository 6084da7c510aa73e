"""`httpx._urls`: `URL` and `QueryParams`."""

from __future__ import annotations

from httpduo._models._urls import URL, QueryParams

__all__ = ["URL", "QueryParams"]
