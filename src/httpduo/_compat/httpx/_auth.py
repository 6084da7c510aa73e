"""`httpx._auth`: the authentication classes."""

from __future__ import annotations

from httpduo._models._auth import Auth, BasicAuth, DigestAuth, FunctionAuth, NetRCAuth

__all__ = ["Auth", "BasicAuth", "DigestAuth", "FunctionAuth", "NetRCAuth"]
