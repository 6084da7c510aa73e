"""`httpx._utils`: the helpers other packages import from httpx's private utilities.

`get_environment_proxies()` here reads the proxy settings through this module's
`getproxies` (the standard library's), as httpx's does, so a test that patches
`httpx._utils.getproxies` changes what it returns. httpduo's own clients read the
environment with `httpduo.get_environment_proxies()`, which this one mirrors.
"""

from __future__ import annotations

from typing import Optional
from urllib.request import getproxies

from httpduo._models._proxy_env import environment_routes
from httpduo._models._urlpatterns import URLPattern

__all__ = ["URLPattern", "get_environment_proxies", "getproxies"]


def get_environment_proxies() -> dict[str, Optional[str]]:
    """The proxy routes the environment asks for, as mounts keys (see httpduo's)."""
    # getproxies() lower-cases names and keeps only `*_proxy` variables; httpduo's
    # parser reads an environment mapping, so hand it those variables.
    environ = {f"{scheme}_proxy": value for scheme, value in getproxies().items()}
    return environment_routes(environ)
