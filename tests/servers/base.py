"""A server running in a background thread, with bounded start and stop.

Rules:
- `start()` returns only once the server accepts requests, or raises `ServerStartError`
  naming the server and the cause (crash, or not ready within `STARTUP_TIMEOUT`).
- `stop()` asks the server to exit, joins the thread within `SHUTDOWN_TIMEOUT` and
  re-raises whatever made the thread die, so a crashed server fails the tests using it.
- Subclasses implement `_serve()` (blocking, runs in the thread), `_is_ready()`,
  `_request_stop()` and `_force_stop()`; all of them are called from the test thread
  except `_serve()`.
"""

from __future__ import annotations

import threading
import time
from typing import Optional

STARTUP_TIMEOUT = 10.0
SHUTDOWN_TIMEOUT = 10.0


class ServerStartError(RuntimeError):
    """A test server did not come up."""


class BackgroundServer:
    """Base for threaded servers; exposes `.url`, `.host`, `.port`, `.uds`, `.scheme`."""

    name = "server"

    def __init__(self, *, scheme: str = "http", host: str = "127.0.0.1") -> None:
        self.scheme = scheme
        self.host = host
        self.port = 0
        self.uds: Optional[str] = None
        self._thread: Optional[threading.Thread] = None
        self._error: Optional[BaseException] = None

    @property
    def url(self) -> str:
        """Base URL without trailing slash, e.g. "http://127.0.0.1:45321"."""
        if self.uds is not None:
            return f"{self.scheme}://localhost"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def __repr__(self) -> str:
        where = self.uds if self.uds is not None else self.url
        return f"<{type(self).__name__} {where}>"

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        thread = threading.Thread(target=self._guarded, name=f"test-{self.name}", daemon=True)
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not self._is_ready():
            if not thread.is_alive():
                self._thread = None
                raise ServerStartError(
                    f"{self.name} exited during startup: {self._error!r}"
                ) from self._error
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(f"{self.name} did not start within {timeout:g} s")
            time.sleep(0.01)

    def stop(self, timeout: float = SHUTDOWN_TIMEOUT) -> None:
        thread = self._thread
        if thread is None:
            return
        self._request_stop()
        thread.join(timeout)
        if thread.is_alive():
            self._force_stop()
            thread.join(2.0)
        self._thread = None
        if thread.is_alive():
            raise RuntimeError(f"{self.name} thread did not stop within {timeout:g} s")
        if self._error is not None:
            raise RuntimeError(f"{self.name} crashed: {self._error!r}") from self._error

    def _guarded(self) -> None:
        try:
            self._serve()
        except BaseException as exc:
            self._error = exc

    def _serve(self) -> None:
        raise NotImplementedError

    def _is_ready(self) -> bool:
        raise NotImplementedError

    def _request_stop(self) -> None:
        raise NotImplementedError

    def _force_stop(self) -> None:
        raise NotImplementedError
