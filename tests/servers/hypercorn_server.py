"""hypercorn serving the test app over HTTP/2: TLS with ALPN ["h2", "http/1.1"], or h2c.

Rules: the listening socket is bound here (127.0.0.1, port 0) so the port is known before
hypercorn starts, and handed over as "fd://" (a duplicate: hypercorn owns and closes it).
hypercorn runs in its own asyncio loop in a thread and stops when `_shutdown` is set from
the test thread. Readiness is proven by a real HTTP/1.1 request, not assumed. On plain
TCP hypercorn speaks HTTP/1.1 and, on seeing the HTTP/2 preface, h2c with prior knowledge.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
from pathlib import Path
from typing import Any, Optional

from hypercorn.asyncio import serve
from hypercorn.config import Config

from tests.servers.app import make_app
from tests.servers.base import BackgroundServer

_PROBE = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


class HypercornServer(BackgroundServer):
    """hypercorn in a thread; TLS (ALPN h2 + http/1.1) when certfile/keyfile are given."""

    name = "hypercorn"

    def __init__(
        self,
        app: Any = None,
        *,
        certfile: Optional[Path] = None,
        keyfile: Optional[Path] = None,
        ca_cert: Optional[Path] = None,
        keep_alive_timeout: float = 5.0,
    ) -> None:
        super().__init__(scheme="https" if certfile else "http")
        self.app: Any = make_app() if app is None else app
        self._ca_cert = ca_cert
        self._listener: Optional[socket.socket] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._shutdown: Optional[asyncio.Event] = None
        self._ready = False
        self.config = Config()
        self.config.accesslog = None
        logger = logging.getLogger("tests.servers.hypercorn")
        logger.setLevel(logging.WARNING)
        self.config.errorlog = logger
        self.config.graceful_timeout = 2.0
        self.config.keep_alive_timeout = keep_alive_timeout
        self.config.alpn_protocols = ["h2", "http/1.1"]
        if certfile is not None:
            self.config.certfile = str(certfile)
            self.config.keyfile = str(keyfile) if keyfile else None

    def start(self, timeout: float = 10.0) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((self.host, 0))
        listener.listen(100)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self.config.bind = [f"fd://{os.dup(listener.fileno())}"]
        try:
            super().start(timeout)
        finally:
            # hypercorn serves from its duplicate; ours is only needed until then.
            listener.close()
            self._listener = None

    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._shutdown = asyncio.Event()
        await serve(self.app, self.config, shutdown_trigger=self._shutdown.wait, mode="asgi")

    def _is_ready(self) -> bool:
        if self._ready:
            return True
        if self._loop is None:
            return False
        self._ready = self._probe()
        return self._ready

    def _probe(self) -> bool:
        try:
            conn = socket.create_connection((self.host, self.port), timeout=1.0)
        except OSError:
            return False
        try:
            if self.scheme == "https":
                context = ssl.create_default_context()
                if self._ca_cert is None:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                else:
                    context.load_verify_locations(cafile=str(self._ca_cert))
                context.set_alpn_protocols(["http/1.1"])
                conn = context.wrap_socket(conn, server_hostname="localhost")
            conn.sendall(_PROBE)
            head = b""
            while len(head) < 12:
                data = conn.recv(12 - len(head))
                if not data:
                    break
                head += data
            return head.startswith(b"HTTP/1.1 200")
        except OSError:
            return False
        finally:
            conn.close()

    def _request_stop(self) -> None:
        loop, event = self._loop, self._shutdown
        if loop is not None and event is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # loop closed between the check and the call
                pass

    def _force_stop(self) -> None:
        self._request_stop()
