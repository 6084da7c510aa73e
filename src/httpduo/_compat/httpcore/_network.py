"""httpduo's network streams seen through httpcore's `NetworkStream` interface.

Rules: the `network_stream` extension of a response that crosses the facade (after a
`101 Switching Protocols`, or a CONNECT) is one of these adapters, so httpx-ws and the
like read and write the upgraded connection as they would on httpcore, and catch
httpcore's `ReadError`/`WriteError`/timeouts. Each call maps httpduo's exceptions once;
`start_tls` returns an adapter again.
"""

from __future__ import annotations

import ssl
from typing import Any, Optional

from httpduo._backends import base as duo

from ._backends.base import AsyncNetworkStream, NetworkStream
from ._exceptions import mapped_to_core

__all__ = ["AsyncNetworkStreamAdapter", "NetworkStreamAdapter", "adapt_network_stream"]


class NetworkStreamAdapter(NetworkStream):
    """An httpduo sync stream behind httpcore's `NetworkStream` interface."""

    def __init__(self, stream: duo.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        with mapped_to_core():
            return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        with mapped_to_core():
            self._stream.write(buffer, timeout)

    def close(self) -> None:
        with mapped_to_core():
            self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> NetworkStream:
        with mapped_to_core():
            return NetworkStreamAdapter(
                self._stream.start_tls(ssl_context, server_hostname, timeout)
            )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class AsyncNetworkStreamAdapter(AsyncNetworkStream):
    """An httpduo async stream behind httpcore's `AsyncNetworkStream` interface."""

    def __init__(self, stream: duo.AsyncNetworkStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        with mapped_to_core():
            return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        with mapped_to_core():
            await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        with mapped_to_core():
            await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> AsyncNetworkStream:
        with mapped_to_core():
            stream = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        return AsyncNetworkStreamAdapter(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


def adapt_network_stream(stream: object) -> object:
    """The adapter for an httpduo stream; anything else (already httpcore-shaped) as is."""
    if isinstance(stream, duo.AsyncNetworkStream):
        return AsyncNetworkStreamAdapter(stream)
    if isinstance(stream, duo.NetworkStream):
        return NetworkStreamAdapter(stream)
    return stream
