"""pytest fixtures exposing the real test servers (loaded from tests/conftest.py).

Rules: servers listen on loopback only, on OS-assigned ports; HTTP servers are
session-scoped (started on first use, stopped at the end of the session), raw fault
servers and the never-accepting listener are per test. A server that does not come up
within 10 s fails the fixture with the reason; one that crashed, could not be stopped or
whose script raised unexpectedly fails the test at teardown.

Fixtures:
  server                  uvicorn, http://127.0.0.1:PORT, keep-alive timeout 5 s
  server_short_keepalive  the same with a 1 s keep-alive timeout
  tls_server              uvicorn over TLS (no ALPN: HTTP/1.1), https://127.0.0.1:PORT
  uds_server              uvicorn on a Unix socket: `.uds` path, `.url` "http://localhost"
  ipv6_server             uvicorn on http://[::1]:PORT (skips without IPv6 loopback)
  h2_server               hypercorn over TLS, ALPN "h2" and "http/1.1"
  h2c_server              hypercorn on plain TCP: HTTP/1.1 or h2c with prior knowledge
  cert_authority          the trustme.CA that signed the servers' certificates
  ca_cert_path            str path of that CA's PEM (for verify= / cafile=)
  tls_files               TLSFiles(ca_cert, certfile, keyfile) of the server certificate
  raw_server              factory: raw_server(script, *, rcvbuf=None, check_errors=True)
                          -> RawServer (see raw.py)
  never_accepts           NeverAccepts: `.host`, `.port`, `.url`, `.address`; connects hang
HTTP server objects expose `.url` (no trailing slash), `.host`, `.port`, `.scheme`, `.uds`
(None except for uds_server, whose `.port` stays 0) and `.app` (the TestApp instance).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from typing import Callable, Iterator, List, Optional, TypeVar

import pytest
import trustme

from tests.servers.base import BackgroundServer, ServerStartError
from tests.servers.certs import TLSFiles, write_server_files
from tests.servers.hypercorn_server import HypercornServer
from tests.servers.raw import NeverAccepts, RawServer, Script
from tests.servers.uvicorn_server import UvicornServer

ServerT = TypeVar("ServerT", bound=BackgroundServer)
RawServerFactory = Callable[..., RawServer]


def _serve(server: ServerT) -> Iterator[ServerT]:
    try:
        server.start()
    except ServerStartError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def cert_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_files(cert_authority: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return write_server_files(cert_authority, tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def ca_cert_path(tls_files: TLSFiles) -> str:
    return str(tls_files.ca_cert)


@pytest.fixture(scope="session")
def server() -> Iterator[UvicornServer]:
    yield from _serve(UvicornServer())


@pytest.fixture(scope="session")
def server_short_keepalive() -> Iterator[UvicornServer]:
    yield from _serve(UvicornServer(timeout_keep_alive=1))


@pytest.fixture(scope="session")
def tls_server(tls_files: TLSFiles) -> Iterator[UvicornServer]:
    yield from _serve(UvicornServer(certfile=tls_files.certfile, keyfile=tls_files.keyfile))


@pytest.fixture(scope="session")
def uds_server() -> Iterator[UvicornServer]:
    # A short directory: AF_UNIX paths are limited to about 100 bytes.
    directory = tempfile.mkdtemp(prefix="httpduo-uds-")
    try:
        yield from _serve(UvicornServer(uds=f"{directory}/server.sock"))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _ipv6_loopback_error() -> Optional[str]:
    if not socket.has_ipv6:
        return "Python was built without IPv6 support"
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError as exc:
        return f"cannot bind ::1: {exc}"
    return None


@pytest.fixture(scope="session")
def ipv6_server() -> Iterator[UvicornServer]:
    error = _ipv6_loopback_error()
    if error is not None:
        pytest.skip(f"IPv6 loopback unavailable ({error})")
    yield from _serve(UvicornServer(host="::1"))


@pytest.fixture(scope="session")
def h2_server(tls_files: TLSFiles) -> Iterator[HypercornServer]:
    yield from _serve(
        HypercornServer(
            certfile=tls_files.certfile, keyfile=tls_files.keyfile, ca_cert=tls_files.ca_cert
        )
    )


@pytest.fixture(scope="session")
def h2c_server() -> Iterator[HypercornServer]:
    yield from _serve(HypercornServer())


@pytest.fixture
def raw_server() -> Iterator[RawServerFactory]:
    servers: List[tuple[RawServer, bool]] = []

    def factory(
        script: Script, *, rcvbuf: Optional[int] = None, check_errors: bool = True
    ) -> RawServer:
        raw = RawServer(script, rcvbuf=rcvbuf)
        servers.append((raw, check_errors))
        return raw

    yield factory

    problems: List[str] = []
    for raw, check_errors in servers:
        try:
            raw.stop()
        except RuntimeError as exc:
            problems.append(f"{raw!r}: {exc}")
        if check_errors and raw.errors:
            problems.extend(f"{raw!r} script raised:\n{error}" for error in raw.errors)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def never_accepts() -> Iterator[NeverAccepts]:
    listener = NeverAccepts()
    try:
        if not listener.ready:
            pytest.skip("this platform completes loopback connects despite a full backlog")
        yield listener
    finally:
        listener.close()
