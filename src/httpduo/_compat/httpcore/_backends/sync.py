"""httpcore's `SyncBackend`: opens httpduo's sync streams behind httpcore's interface.

Rules: connecting, TLS and socket options are httpduo's own (`httpduo._backends.sync`,
Happy Eyeballs included); the streams come back as `NetworkStreamAdapter`s, errors as
httpcore's exceptions.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Optional

from httpduo._backends.sync import SyncBackend as _DuoSyncBackend

from .._exceptions import mapped_to_core
from .._network import NetworkStreamAdapter
from .base import SOCKET_OPTION, NetworkBackend, NetworkStream

__all__ = ["SyncBackend"]


class SyncBackend(NetworkBackend):
    """Blocking sockets, httpduo's."""

    def __init__(self) -> None:
        self._backend = _DuoSyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Optional[Iterable[SOCKET_OPTION]] = None,
    ) -> NetworkStream:
        with mapped_to_core():
            stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return NetworkStreamAdapter(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: Optional[float] = None,
        socket_options: Optional[Iterable[SOCKET_OPTION]] = None,
    ) -> NetworkStream:
        with mapped_to_core():
            stream = self._backend.connect_unix_socket(path, timeout, socket_options)
        return NetworkStreamAdapter(stream)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
