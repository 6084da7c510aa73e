"""Which proxy each mount pattern gets, from `proxy=`, `proxies=` or the environment.

Rules (shared by `Client` and `AsyncClient`, so written once here):
- `proxy=` routes everything ("all://") through one proxy.
- `proxies=` (httpx < 0.28) is still accepted, a dict of patterns or a single value, with
  a `DeprecationWarning` spelling out the `proxy=` or `mounts=` to write instead (never a
  password); giving both raises `RuntimeError`.
- Otherwise, when the client builds its own transport and trusts the environment, the
  routes of `get_environment_proxies()` apply.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Optional, Union

from ._config import Proxy
from ._proxy_env import get_environment_proxies
from ._urls import URL

__all__ = ["ProxiesTypes", "ProxyTypes", "as_proxy", "proxy_routes", "proxy_source"]

ProxyTypes = Union[URL, str, Proxy]
ProxiesTypes = Union[ProxyTypes, Mapping[str, Optional[ProxyTypes]]]


def as_proxy(value: ProxyTypes) -> Proxy:
    return value if isinstance(value, Proxy) else Proxy(url=value)


def proxy_source(proxy: Proxy) -> str:
    """How to write `proxy` in code, for a warning (never showing a password)."""
    if proxy.auth is None and not proxy.headers and proxy.ssl_context is None:
        return repr(str(proxy.url))
    return f"httpduo.{proxy!r}"


def proxy_routes(
    proxy: Optional[ProxyTypes],
    proxies: Optional[ProxiesTypes],
    *,
    use_environment: bool,
    transport_name: str,
) -> dict[str, Optional[Proxy]]:
    """The proxy to mount per pattern: `proxy=`, else `proxies=`, else the environment."""
    if proxies is not None:
        if proxy is not None:
            raise RuntimeError("Use either `proxy` or `proxies`, not both.")
        if isinstance(proxies, Mapping):
            routes = {
                key: None if value is None else as_proxy(value) for key, value in proxies.items()
            }
            suggestion = ", ".join(
                f"{key!r}: "
                + (
                    "None"
                    if value is None
                    else f"httpduo.{transport_name}(proxy={proxy_source(value)})"
                )
                for key, value in routes.items()
            )
            warnings.warn(
                "The 'proxies' argument is deprecated (httpx 0.28 removed it). "
                f"Use mounts instead: mounts={{{suggestion}}}",
                DeprecationWarning,
                stacklevel=3,
            )
            return routes
        warnings.warn(
            "The 'proxies' argument is deprecated (httpx 0.28 removed it). "
            f"Use proxy={proxy_source(as_proxy(proxies))} instead.",
            DeprecationWarning,
            stacklevel=3,
        )
        proxy = proxies
    if proxy is not None:
        return {"all://": as_proxy(proxy)}
    if use_environment:
        return {
            key: None if url is None else Proxy(url=url)
            for key, url in get_environment_proxies().items()
        }
    return {}
