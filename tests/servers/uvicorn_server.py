"""uvicorn (h11, asyncio loop) serving the test app from a background thread.

Rules: binds only to loopback (127.0.0.1, ::1) or a Unix socket path, on port 0; uvicorn
must not configure logging globally (log_config=None) nor read the environment; shutdown is
bounded by `timeout_graceful_shutdown` so a client that stopped reading cannot hang it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import uvicorn

from tests.servers.app import make_app
from tests.servers.base import BackgroundServer

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1"})


class UvicornServer(BackgroundServer):
    """uvicorn in a thread. `.url`, `.host`, `.port`; `.uds` for the Unix-socket flavour."""

    name = "uvicorn"

    def __init__(
        self,
        app: Any = None,
        *,
        host: str = "127.0.0.1",
        uds: Optional[str] = None,
        timeout_keep_alive: int = 5,
        certfile: Optional[Path] = None,
        keyfile: Optional[Path] = None,
    ) -> None:
        if uds is None and host not in LOOPBACK_HOSTS:
            raise ValueError(f"test servers bind to loopback only, not {host!r}")
        super().__init__(scheme="https" if certfile else "http", host=host)
        self.app: Any = make_app() if app is None else app
        self.config = uvicorn.Config(
            self.app,
            host=host,
            port=0,
            uds=uds,
            loop="asyncio",
            http="h11",
            ws="none",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            env_file=None,
            proxy_headers=False,
            limit_concurrency=None,
            timeout_keep_alive=timeout_keep_alive,
            timeout_graceful_shutdown=2,
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
        )
        self.server = uvicorn.Server(self.config)
        self._uds_path = uds

    def _serve(self) -> None:
        self.server.run()

    def _is_ready(self) -> bool:
        if not self.server.started:
            return False
        if self._uds_path is not None:
            self.uds = self._uds_path
            return True
        sockname = self.server.servers[0].sockets[0].getsockname()
        self.port = int(sockname[1])
        return True

    def _request_stop(self) -> None:
        self.server.should_exit = True

    def _force_stop(self) -> None:
        self.server.force_exit = True
