"""Proxies from the environment, and the mount patterns that send requests around them.

Rules:
- The environment is read when a client is created, never per request.
- `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` are read in either case; the lower-case
  name wins when both are set (as curl and urllib do) and an empty value counts as unset.
  Upper-case `HTTP_PROXY` is ignored when `REQUEST_METHOD` is set: under CGI it could be
  injected by a client's `Proxy:` request header ("httpoxy").
- A proxy value without a scheme is an HTTP proxy: `proxy:3128` means
  `http://proxy:3128`.
- `NO_PROXY` entries never resolve names. A host name matches itself and its subdomains
  (`example.com`, `.example.com` and `*.example.com` alike); an IP address or a CIDR range
  (`10.0.0.0/8`, `fd00::/8`) matches URLs whose host is such an address; a `:port`
  suffix limits an entry to that port (a URL without a port has its scheme's default);
  `scheme://host` limits it to that scheme; a lone `*` disables proxies altogether.
  Entries that are none of these are ignored.
- `mount_pattern()` builds the pattern for any mounts key, so keys that `URLPattern`
  cannot express (IP networks, ports compared with scheme defaults) work in `mounts=`
  too; every other key gets a plain `URLPattern`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from typing import Final, Optional, Union

from ._urlpatterns import URLPattern
from ._urls import URL

__all__ = ["environment_routes", "get_environment_proxies", "mount_pattern"]

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

_DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_PROXY_VARIABLES: Final = (("http", "http_proxy"), ("https", "https_proxy"), ("all", "all_proxy"))

# scheme://host[:port][/prefix]; host is a [bracketed IPv6 literal] or anything without
# ':' '/' or brackets. Keys that do not fit are left to URLPattern.
_KEY: Final = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.\-]*)://(?P<host>\[[^\]/]*\]|[^:/\[\]]*)"
    r"(?::(?P<port>[0-9]{1,5}))?(?:/(?P<prefix>[0-9]{1,3}))?",
    re.IGNORECASE,
)
# A NO_PROXY entry: "[v6]" or "[v6]:port", else "host" or "host:port" (one colon at most).
_BRACKETED_ENTRY: Final = re.compile(r"\[(?P<host>[^\]]+)\](?::(?P<port>[0-9]{1,5}))?")
_HOST_PORT_ENTRY: Final = re.compile(r"(?P<host>[^:]+)(?::(?P<port>[0-9]{1,5}))?")
# What a host name in NO_PROXY may contain (after an optional leading "*." or ".").
_NAME: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_\-.]*[a-z0-9_])?")


def get_environment_proxies() -> dict[str, Optional[str]]:
    """The proxy routes the environment asks for, as `mounts` keys.

    Returns e.g. `{"http://": "http://proxy:3128", "https://": "http://proxy:3128",
    "all://*example.com": None, "all://10.0.0.0/8": None}`: a proxy URL per pattern, and
    `None` for the `NO_PROXY` entries (requests to those go direct). It is empty when no
    proxy variable is set, or when `NO_PROXY` is `*`. A client with `trust_env=True` and
    neither `proxy=` nor `transport=` mounts exactly these routes.
    """
    return environment_routes(os.environ)


def environment_routes(environ: Mapping[str, str]) -> dict[str, Optional[str]]:
    """`get_environment_proxies()` for a given mapping of environment variables."""
    mounts: dict[str, Optional[str]] = {}
    for scheme, name in _PROXY_VARIABLES:
        value = _variable(environ, name)
        if value is not None:
            mounts[f"{scheme}://"] = value if "://" in value else f"http://{value}"
    if not mounts:
        return mounts
    no_proxy = _variable(environ, "no_proxy")
    if no_proxy is not None:
        for entry in no_proxy.split(","):
            entry = entry.strip().lower()
            if entry == "*":
                return {}
            key = _no_proxy_key(entry) if entry else None
            if key is not None:
                mounts[key] = None
    return mounts


def _variable(environ: Mapping[str, str], name: str) -> Optional[str]:
    value = environ.get(name, "").strip()
    if not value and not (name == "http_proxy" and "REQUEST_METHOD" in environ):
        value = environ.get(name.upper(), "").strip()
    return value or None


def _no_proxy_key(entry: str) -> Optional[str]:
    """The mounts key for one (stripped, lower-cased) NO_PROXY entry, or None if invalid."""
    if "://" in entry:
        try:
            mount_pattern(entry)
        except ValueError:
            return None
        return entry
    match = _BRACKETED_ENTRY.fullmatch(entry)
    if match is None:
        match = None if entry.count(":") > 1 else _HOST_PORT_ENTRY.fullmatch(entry)
    if match is not None:
        host, port = match["host"], match["port"]
    else:
        host, port = entry, None  # a bare IPv6 address or network
    if port is not None and int(port) > 65535:
        return None
    suffix = "" if port is None else f":{port}"
    if "/" in host:
        try:
            network = ipaddress.ip_network(host, strict=False)
        except ValueError:
            return None
        if port is not None:
            return None
        return f"all://{_network_text(network)}"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        text = f"[{address}]" if address.version == 6 else str(address)
        return f"all://{text}{suffix}"
    name = host[2:] if host.startswith("*.") else host.lstrip(".")
    if _NAME.fullmatch(name) is None:
        return None
    if name == "localhost":
        return f"all://localhost{suffix}"
    return f"all://*{name}{suffix}"


def _network_text(network: IPNetwork) -> str:
    if network.version == 6:
        return f"[{network.network_address}]/{network.prefixlen}"
    return f"{network.network_address}/{network.prefixlen}"


def mount_pattern(key: str) -> URLPattern:
    """The pattern for a `mounts=` key (see `URLPattern`), also accepting IP networks
    (`"all://10.0.0.0/8"`, `"all://[fd00::]/8"`) and comparing a key's port with the URL's
    port or, when the URL has none, its scheme's default."""
    match = _KEY.fullmatch(key)
    if match is None:
        return URLPattern(key)
    host = match["host"]
    literal = host[1:-1] if host.startswith("[") else host
    network: Optional[IPNetwork] = None
    if match["prefix"] is not None or _looks_numeric(literal):
        text = literal if match["prefix"] is None else f"{literal}/{match['prefix']}"
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            if match["prefix"] is not None:
                raise ValueError(f"Mount pattern {key!r} has an invalid IP network") from None
    if network is None and match["port"] is None:
        return URLPattern(key)
    port = None if match["port"] is None else int(match["port"])
    if port is not None and port > 65535:
        raise ValueError(f"Mount pattern {key!r} has an invalid port")
    return _RoutePattern(key, match["scheme"].lower(), host, port, network)


def _looks_numeric(host: str) -> bool:
    return bool(host) and (host[0].isdigit() or ":" in host)


class _RoutePattern(URLPattern):
    """A mounts key with an IP address/network host, or with a port."""

    __slots__ = ("_host_only", "_network")

    def __init__(
        self,
        pattern: str,
        scheme: str,
        host: str,
        port: Optional[int],
        network: Optional[IPNetwork],
    ) -> None:
        # URLPattern.__init__ is not called: it cannot parse networks. The attributes it
        # sets are all set here, so `priority` and equality work unchanged.
        self.pattern = pattern
        self.scheme = "" if scheme == "all" else scheme
        self.port = port
        self._host_regex = None
        self._network = network
        if network is not None:
            self.host = str(network) if network.prefixlen < network.max_prefixlen else host
            self._host_only: Optional[URLPattern] = None
        else:
            self.host = "" if host == "*" else host
            self._host_only = URLPattern(f"{scheme}://{host}")

    def matches(self, url: URL) -> bool:
        if self.scheme and url.scheme != self.scheme:
            return False
        if self.port is not None:
            port = url.port if url.port is not None else _DEFAULT_PORTS.get(url.scheme)
            if port != self.port:
                return False
        if self._host_only is not None:
            return self._host_only.matches(url)
        assert self._network is not None
        host = url.host
        if not _looks_numeric(host):
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return address in self._network
