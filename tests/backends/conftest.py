"""Raw-socket fixtures for the backend tests: tiny threaded servers on loopback only.

The `anyio_backend` fixture (asyncio and trio) comes from tests/conftest.py; `backend` is
the async backend under test, parametrized by `helpers.every_async_backend`.

Rules: every server binds 127.0.0.1, 127.0.0.2, ::1 or a UNIX path; every thread and
socket has a bound lifetime (socket timeouts, joins with a timeout) and is torn down by
its fixture.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from typing import Any, Callable, List, Optional, Tuple

import pytest
import trustme

from httpduo._backends.anyio import AnyIOBackend
from httpduo._backends.asyncio import AsyncioBackend
from httpduo._backends.base import AsyncNetworkBackend

Handler = Callable[[socket.socket], None]

IO_TIMEOUT = 10.0  # the most any server thread blocks on one socket operation


def ipv6_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


class ThreadServer:
    """Accepts on a loopback socket and runs `handler(conn)` in a thread per connection."""

    def __init__(
        self,
        handler: Handler,
        family: int = socket.AF_INET,
        address: Any = ("127.0.0.1", 0),
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        self._handler = handler
        self._ssl_context = ssl_context
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        if family != getattr(socket, "AF_UNIX", None):
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(address)
        self.listener.listen(16)
        self.address = self.listener.getsockname()
        self._threads: List[threading.Thread] = []
        self._conns: List[socket.socket] = []
        self._closing = False
        self.errors: List[BaseException] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    @property
    def port(self) -> int:
        return int(self.address[1])

    def _accept_loop(self) -> None:
        while not self._closing:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            conn.settimeout(IO_TIMEOUT)
            self._conns.append(conn)
            thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, conn: socket.socket) -> None:
        try:
            if self._ssl_context is not None:
                try:
                    conn = self._ssl_context.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError):
                    return  # the client refused our certificate, or gave up
                self._conns.append(conn)
            self._handler(conn)
        except OSError:
            pass  # the client went away; not the server's failure
        except BaseException as exc:  # pragma: no cover - surfaced by close()
            if not self._closing:  # teardown closing sockets under a handler is expected
                self.errors.append(exc)
        finally:
            conn.close()

    def close(self) -> None:
        self._closing = True
        # shutdown() wakes a blocked accept() on Linux; close() alone may not.
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for conn in list(self._conns):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        self._acceptor.join(IO_TIMEOUT)
        for thread in self._threads:
            thread.join(IO_TIMEOUT)
        if self.errors:  # pragma: no cover
            raise self.errors[0]


def echo(conn: socket.socket) -> None:
    while True:
        data = conn.recv(65536)
        if not data:
            return
        conn.sendall(data)


def greet_and_close(conn: socket.socket) -> None:
    conn.sendall(b"hello")


def close_on_request(conn: socket.socket) -> None:
    """Stay idle until the client says something, then close without answering."""
    conn.recv(1)


ASYNC_BACKENDS = {"anyio": AnyIOBackend, "asyncio": AsyncioBackend}


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> AsyncNetworkBackend:
    """A fresh backend of the kind `every_async_backend` names ("anyio" or "asyncio")."""
    kind: str = request.param
    return ASYNC_BACKENDS[kind]()


@pytest.fixture
def start_server() -> Iterator[Callable[..., ThreadServer]]:
    """Start a `ThreadServer(handler, family, address, ssl_context)`; closed at teardown."""
    servers: List[ThreadServer] = []

    def start(*args: Any, **kwargs: Any) -> ThreadServer:
        server = ThreadServer(*args, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def ipv6() -> None:
    if not ipv6_available():
        pytest.skip("IPv6 loopback (::1) is not available")


@pytest.fixture
def echo_server() -> Iterator[ThreadServer]:
    server = ThreadServer(echo)
    yield server
    server.close()


@pytest.fixture
def echo_server_v6() -> Iterator[ThreadServer]:
    if not ipv6_available():
        pytest.skip("IPv6 loopback (::1) is not available")
    server = ThreadServer(echo, socket.AF_INET6, ("::1", 0))
    yield server
    server.close()


@pytest.fixture
def greeting_server() -> Iterator[ThreadServer]:
    server = ThreadServer(greet_and_close)
    yield server
    server.close()


@pytest.fixture
def closing_server() -> Iterator[ThreadServer]:
    server = ThreadServer(close_on_request)
    yield server
    server.close()


@pytest.fixture
def unix_echo_server() -> Iterator[str]:
    if not hasattr(socket, "AF_UNIX"):
        pytest.skip("UNIX sockets are not available")
    # A short directory: socket paths are limited to ~100 bytes.
    with tempfile.TemporaryDirectory(prefix="hd") as directory:
        path = os.path.join(directory, "echo.sock")
        server = ThreadServer(echo, socket.AF_UNIX, path)
        yield path
        server.close()


@pytest.fixture
def silent_listener() -> Iterator[Tuple[str, int]]:
    """Completes TCP handshakes (in the kernel backlog) but never reads or writes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()
    listener.close()


def _free_on_127_0_0_1(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:`port` now (as ThreadServer binds)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _full_backlog(host: str) -> Iterator[Tuple[str, int]]:
    """A listener whose accept queue is full: further connects hang, then time out.

    On another address than 127.0.0.1, the port is one that 127.0.0.1 has free too: the
    tests race it against a server (or a refusal) on 127.0.0.1 at the same port, and a
    port some other socket holds there would make them fail at random.
    """
    for _ in range(50):
        listener = socket.socket()
        listener.bind((host, 0))
        if host == "127.0.0.1" or _free_on_127_0_0_1(listener.getsockname()[1]):
            break
        listener.close()
    else:  # pragma: no cover - a loopback with no free ports
        pytest.skip("no port free on both loopback addresses")
    listener.listen(0)
    address = listener.getsockname()
    fillers = []
    # Linux admits backlog+1 connections; further SYNs are dropped (the client retries).
    for _ in range(2):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(address)
        fillers.append(filler)
    probe = socket.socket()
    probe.settimeout(0.3)
    try:
        probe.connect(address)
    except OSError:
        pass  # timed out: the backlog is full, as wanted
    else:  # pragma: no cover - depends on the kernel
        probe.close()
        for filler in fillers:
            filler.close()
        listener.close()
        pytest.skip("could not fill a listen backlog on this platform")
    fillers.append(probe)
    yield address
    for filler in fillers:
        filler.close()
    listener.close()


@pytest.fixture
def full_backlog_listener() -> Iterator[Tuple[str, int]]:
    yield from _full_backlog("127.0.0.1")


@pytest.fixture
def full_backlog_listener_127_0_0_2() -> Iterator[Tuple[str, int]]:
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.2", 0))
    except OSError:
        pytest.skip("127.0.0.2 is not routed to loopback here")
    yield from _full_backlog("127.0.0.2")


@pytest.fixture
def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connects are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_ssl_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1", "::1").configure_cert(context)
    return context


@pytest.fixture
def client_ssl_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def untrusting_ssl_context() -> ssl.SSLContext:
    """Verifies against an empty trust store, so the test CA is unknown."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return context


@pytest.fixture
def tls_echo_server(server_ssl_context: ssl.SSLContext) -> Iterator[ThreadServer]:
    server = ThreadServer(echo, ssl_context=server_ssl_context)
    yield server
    server.close()


@pytest.fixture
def tls_tunnel(
    server_ssl_context: ssl.SSLContext, tls_echo_server: ThreadServer
) -> Iterator[ThreadServer]:
    """A TLS server that relays the decrypted bytes to `tls_echo_server`, like an HTTPS
    proxy after CONNECT: clients run a second TLS session through it (TLS in TLS)."""

    def relay(conn: socket.socket) -> None:
        # One thread, select-driven: an SSLSocket must not be read and written at once.
        with socket.create_connection(("127.0.0.1", tls_echo_server.port), IO_TIMEOUT) as up:
            assert isinstance(conn, ssl.SSLSocket)
            while True:
                ready: List[socket.socket]
                if conn.pending():
                    ready = [conn]
                else:
                    ready, _, _ = select.select([conn, up], [], [], IO_TIMEOUT)
                if not ready:
                    return
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    (up if source is conn else conn).sendall(data)

    server = ThreadServer(relay, ssl_context=server_ssl_context)
    yield server
    server.close()
