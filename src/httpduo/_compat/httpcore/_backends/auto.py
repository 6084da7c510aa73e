"""httpcore's `AutoBackend`: opens httpduo's async streams behind httpcore's interface.

Rules: the httpduo backend is chosen on first use, inside the running event loop, as
httpduo's pool chooses it (native asyncio under asyncio, anyio under trio); subclasses
pick another (`AnyIOBackend`). Streams come back as `AsyncNetworkStreamAdapter`s,
errors as httpcore's exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional

from .._exceptions import mapped_to_core
from .._network import AsyncNetworkStreamAdapter
from .base import SOCKET_OPTION, AsyncNetworkBackend, AsyncNetworkStream

__all__ = ["AutoBackend"]


class AutoBackend(AsyncNetworkBackend):
    """Whatever async backend httpduo's pool would use in this event loop."""

    def __init__(self) -> None:
        self._backend: Any = None

    def _choose(self) -> Any:
        from httpduo._async._pool import _default_backend

        return _default_backend()

    def _get(self) -> Any:
        if self._backend is None:
            self._backend = self._choose()
        return self._backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Optional[Iterable[SOCKET_OPTION]] = None,
    ) -> AsyncNetworkStream:
        backend = self._get()
        with mapped_to_core():
            stream = await backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return AsyncNetworkStreamAdapter(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: Optional[float] = None,
        socket_options: Optional[Iterable[SOCKET_OPTION]] = None,
    ) -> AsyncNetworkStream:
        backend = self._get()
        with mapped_to_core():
            stream = await backend.connect_unix_socket(path, timeout, socket_options)
        return AsyncNetworkStreamAdapter(stream)

    async def sleep(self, seconds: float) -> None:
        await self._get().sleep(seconds)
