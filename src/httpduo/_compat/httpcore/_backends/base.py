"""httpcore's network interfaces: `NetworkStream`, `NetworkBackend` and async twins.

Rules: these are the interfaces httpcore's users implement or receive (httpx-ws gets a
`NetworkStream` as the `network_stream` extension after a 101). Methods a subclass must
provide raise NotImplementedError naming the class, as httpcore's do. The streams httpduo
hands out through the facade are `httpduo._compat.httpcore._network`'s adapters.
"""

from __future__ import annotations

import ssl
import typing
from typing import Any, Optional

__all__ = ["AsyncNetworkBackend", "AsyncNetworkStream", "NetworkBackend", "NetworkStream"]

SOCKET_OPTION = typing.Union[
    tuple[int, int, int],
    tuple[int, int, typing.Union[bytes, bytearray]],
    tuple[int, int, None, int],
]


def _missing(obj: object, method: str) -> NotImplementedError:
    return NotImplementedError(f"{type(obj).__name__} does not implement {method}()")


class NetworkStream:
    """A connected byte stream: read, write, close, upgrade to TLS."""

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        raise _missing(self, "read")

    def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        raise _missing(self, "write")

    def close(self) -> None:
        raise _missing(self, "close")

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> NetworkStream:
        raise _missing(self, "start_tls")

    def get_extra_info(self, info: str) -> Any:
        return None


class NetworkBackend:
    """Opens network streams."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Optional[typing.Iterable[SOCKET_OPTION]] = None,
    ) -> NetworkStream:
        raise _missing(self, "connect_tcp")

    def connect_unix_socket(
        self,
        path: str,
        timeout: Optional[float] = None,
        socket_options: Optional[typing.Iterable[SOCKET_OPTION]] = None,
    ) -> NetworkStream:
        raise _missing(self, "connect_unix_socket")

    def sleep(self, seconds: float) -> None:
        raise _missing(self, "sleep")


class AsyncNetworkStream:
    """A connected byte stream: read, write, close, upgrade to TLS (async)."""

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        raise _missing(self, "read")

    async def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        raise _missing(self, "write")

    async def aclose(self) -> None:
        raise _missing(self, "aclose")

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> AsyncNetworkStream:
        raise _missing(self, "start_tls")

    def get_extra_info(self, info: str) -> Any:
        return None


class AsyncNetworkBackend:
    """Opens network streams (async)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Optional[typing.Iterable[SOCKET_OPTION]] = None,
    ) -> AsyncNetworkStream:
        raise _missing(self, "connect_tcp")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: Optional[float] = None,
        socket_options: Optional[typing.Iterable[SOCKET_OPTION]] = None,
    ) -> AsyncNetworkStream:
        raise _missing(self, "connect_unix_socket")

    async def sleep(self, seconds: float) -> None:
        raise _missing(self, "sleep")
