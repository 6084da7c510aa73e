"""Opening a SOCKS tunnel over a connected stream: the I/O half of `_codecs/socks.py`.

Rules:
- socksio is optional (`pip install 'httpduo[socks]'`). It is imported when the first
  SOCKS connection opens; `require_socksio()` lets a transport fail at construction,
  with the install command in the message, instead.
- `socks5://` and `socks4://` resolve the target's name here (local DNS) and send the
  proxy an address; `socks5h://` and `socks4a://` send the name for the proxy to resolve.
  Resolution goes through the backend's `resolve(host, port, timeout)`.
- The whole handshake (resolution included) is bounded by the connect timeout, and
  running out raises `ConnectTimeout`; the stream breaking mid-handshake, or the proxy
  refusing, raises `ProxyError`.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Final, Optional

from httpduo._backends.base import AsyncNetworkBackend, AsyncNetworkStream
from httpduo._models._config import Proxy
from httpduo._models._exceptions import (
    ConnectError,
    ConnectTimeout,
    ProxyError,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)

__all__ = ["SOCKS_SCHEMES", "open_socks_tunnel", "require_socksio"]

logger = logging.getLogger("httpduo.proxy")

SOCKS_SCHEMES: Final = frozenset({"socks5", "socks5h", "socks4", "socks4a"})
READ_SIZE: Final = 4096


def require_socksio() -> None:
    """Raise an `ImportError` naming the install command when socksio is missing."""
    try:
        import socksio  # noqa: F401
    except ImportError:
        raise ImportError(
            "Using a SOCKS proxy requires the socksio package. "
            "Install it with: pip install 'httpduo[socks]'"
        ) from None


async def open_socks_tunnel(
    stream: AsyncNetworkStream,
    backend: AsyncNetworkBackend,
    proxy: Proxy,
    host: str,
    port: int,
    timeout: Optional[float],
) -> None:
    """Ask the SOCKS proxy at the other end of `stream` to connect it to host:port."""
    require_socksio()
    from httpduo._codecs.socks import Socks4Handshake, Socks5Handshake, SocksHandshake

    scheme = proxy.url.scheme
    version = "SOCKS5" if scheme.startswith("socks5") else "SOCKS4"
    name = f"{version} proxy {proxy.url}"
    deadline = None if timeout is None else backend.time() + timeout
    try:
        if scheme in ("socks5", "socks4"):
            host = await _resolve(backend, host, port, timeout, ipv4=scheme == "socks4")
        handshake: SocksHandshake
        if version == "SOCKS5":
            handshake = Socks5Handshake(host, port, auth=proxy.raw_auth, name=name)
        else:
            user_id = b"" if proxy.raw_auth is None else proxy.raw_auth[0]
            handshake = Socks4Handshake(
                host, port, user_id=user_id, remote_dns=scheme == "socks4a", name=name
            )
        while True:
            data = handshake.data_to_send()
            if data:
                await stream.write(data, _remaining(backend, deadline))
            if handshake.done:
                return
            handshake.feed(await stream.read(READ_SIZE, _remaining(backend, deadline)))
    except (ReadTimeout, WriteTimeout) as exc:
        raise ConnectTimeout(
            f"Timed out during the handshake with the {name} (connect timeout {timeout}s)"
        ) from exc
    except (ReadError, WriteError) as exc:
        raise ProxyError(
            f"The connection to the {name} broke during the handshake: {exc}"
        ) from exc


def _remaining(backend: AsyncNetworkBackend, deadline: Optional[float]) -> Optional[float]:
    return None if deadline is None else max(deadline - backend.time(), 0.0)


async def _resolve(
    backend: AsyncNetworkBackend, host: str, port: int, timeout: Optional[float], *, ipv4: bool
) -> str:
    """The address to send for `host`: itself if it is one, else the first it resolves to
    (the first IPv4 one for SOCKS4)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    addresses = await backend.resolve(host, port, timeout)
    for address in addresses:
        if not ipv4 or ipaddress.ip_address(address).version == 4:
            return address
    kind = "IPv4 address" if ipv4 else "address"
    raise ConnectError(f"{host!r} resolved to no {kind} (SOCKS{4 if ipv4 else 5} needs one)")
