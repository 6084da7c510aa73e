"""`httpx._models`: the message classes."""

from __future__ import annotations

from httpduo._models._cookies import Cookies
from httpduo._models._headers import Headers
from httpduo._models._requests import Request
from httpduo._models._responses import Response

__all__ = ["Cookies", "Headers", "Request", "Response"]
