"""Network streams across the facade, both ways.

Rules:
- httpduo's streams seen through httpcore's interface (`NetworkStreamAdapter` and its
  async twin): the `network_stream` extension of a response that crosses the facade
  (after a `101 Switching Protocols`, or a CONNECT) is one of these, so httpx-ws and the
  like read and write the upgraded connection as on httpcore and catch httpcore's
  `ReadError`/`WriteError`/timeouts.
- httpcore-interface streams seen through httpduo's (`httpduo_stream()`): what the
  facade's `HTTP11Connection`/`HTTP2Connection` drive httpduo's protocol code over. An
  adapter of ours is unwrapped instead of wrapped twice.
- Each call maps the exceptions once; `start_tls` returns an adapter again.
"""

from __future__ import annotations

import ssl
from typing import Any, Optional

from httpduo._backends import base as duo

from ._backends.base import AsyncNetworkStream, NetworkStream
from ._exceptions import mapped_to_core, mapped_to_httpduo

__all__ = [
    "AsyncNetworkStreamAdapter",
    "NetworkStreamAdapter",
    "adapt_network_stream",
    "async_httpduo_stream",
    "httpduo_stream",
]


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


class _HttpduoStream(duo.NetworkStream):
    """An httpcore-interface sync stream behind httpduo's `NetworkStream` interface."""

    __slots__ = ("_stream",)

    def __init__(self, stream: NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        with mapped_to_httpduo(None):
            return self._stream.read(max_bytes, timeout)

    def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        with mapped_to_httpduo(None):
            self._stream.write(data, timeout)

    def close(self) -> None:
        with mapped_to_httpduo(None):
            self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> duo.NetworkStream:
        with mapped_to_httpduo(None):
            return httpduo_stream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, name: str) -> Any:
        return self._stream.get_extra_info(name)


class _AsyncHttpduoStream(duo.AsyncNetworkStream):
    """An httpcore-interface async stream behind httpduo's `AsyncNetworkStream`."""

    __slots__ = ("_stream",)

    def __init__(self, stream: AsyncNetworkStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        with mapped_to_httpduo(None):
            return await self._stream.read(max_bytes, timeout)

    async def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        with mapped_to_httpduo(None):
            await self._stream.write(data, timeout)

    async def aclose(self) -> None:
        with mapped_to_httpduo(None):
            await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> duo.AsyncNetworkStream:
        with mapped_to_httpduo(None):
            stream = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        return async_httpduo_stream(stream)

    def get_extra_info(self, name: str) -> Any:
        return self._stream.get_extra_info(name)


def httpduo_stream(stream: NetworkStream) -> duo.NetworkStream:
    """httpduo's view of an httpcore-interface sync stream."""
    if isinstance(stream, NetworkStreamAdapter):
        return stream._stream
    return _HttpduoStream(stream)


def async_httpduo_stream(stream: AsyncNetworkStream) -> duo.AsyncNetworkStream:
    """httpduo's view of an httpcore-interface async stream."""
    if isinstance(stream, AsyncNetworkStreamAdapter):
        return stream._stream
    return _AsyncHttpduoStream(stream)
