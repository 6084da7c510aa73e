"""SyncBackend against real sockets on loopback."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from typing import Any, Callable, List, Tuple

import pytest

from httpduo._backends import sync as sync_module
from httpduo._backends.base import NetworkStream
from httpduo._backends.sync import SyncBackend
from httpduo._models._exceptions import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)

pytestmark = pytest.mark.network

SRC = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "src")


def read_exactly(stream: NetworkStream, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data), timeout=5)
        assert chunk, "unexpected EOF"
        data += chunk
    return data


def fake_getaddrinfo(monkeypatch: pytest.MonkeyPatch, name: str, addresses: List[str]) -> None:
    """Make `name` resolve to `addresses`, in that order; other lookups are untouched."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        flags = args[3] if len(args) > 3 else kwargs.get("flags", 0)
        if host != name or flags & socket.AI_NUMERICHOST:
            return real(host, port, *args, **kwargs)
        results = []
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr: Tuple[Any, ...] = (
                (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
            )
            results.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return results

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# --- plain TCP -------------------------------------------------------------------------


def test_write_then_read_echo(echo_server: Any) -> None:
    stream = SyncBackend().connect_tcp("127.0.0.1", echo_server.port, timeout=5)
    try:
        stream.write(b"ping" * 1000, timeout=5)
        assert read_exactly(stream, 4000) == b"ping" * 1000
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", echo_server.port)
        assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
        assert stream.get_extra_info("ssl_object") is None
        sock = stream.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        # Non-blocking: each read and write waits for its own direction, its own timeout.
        assert not sock.getblocking()
        assert stream.get_extra_info("no such thing") is None
    finally:
        stream.close()


def test_timeouts_change_between_calls(echo_server: Any) -> None:
    stream = SyncBackend().connect_tcp("127.0.0.1", echo_server.port)
    try:
        for timeout in (None, 5.0, 5.0, None, 2.0):
            stream.write(b"x", timeout=timeout)
            assert stream.read(10, timeout=timeout) == b"x"
            # Nothing is set on the socket: a timeout belongs to the call that passed it.
            assert stream.get_extra_info("socket").gettimeout() == 0.0
    finally:
        stream.close()


def test_eof_reads_empty_bytes(greeting_server: Any) -> None:
    stream = SyncBackend().connect_tcp("127.0.0.1", greeting_server.port, timeout=5)
    try:
        assert read_exactly(stream, 5) == b"hello"
        assert stream.read(100, timeout=5) == b""
        assert stream.read(100, timeout=5) == b""
    finally:
        stream.close()


def test_close_is_idempotent_and_io_after_close_fails_cleanly(
    echo_server: Any,
) -> None:
    stream = SyncBackend().connect_tcp("127.0.0.1", echo_server.port, timeout=5)
    stream.close()
    stream.close()
    with pytest.raises(ReadError, match=r"Error reading from 127\.0\.0\.1"):
        stream.read(10)
    with pytest.raises(WriteError, match=r"Error writing to 127\.0\.0\.1"):
        stream.write(b"late")


def test_read_timeout(silent_listener: Tuple[str, int]) -> None:
    host, port = silent_listener
    stream = SyncBackend().connect_tcp(host, port, timeout=5)
    try:
        with pytest.raises(ReadTimeout, match=rf"Timed out reading from 127.0.0.1:{port}"):
            stream.read(100, timeout=0.2)
    finally:
        stream.close()


def test_write_timeout(silent_listener: Tuple[str, int]) -> None:
    host, port = silent_listener
    small_buffer = (socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    stream = SyncBackend().connect_tcp(host, port, timeout=5, socket_options=[small_buffer])
    try:
        with pytest.raises(WriteTimeout, match=rf"Timed out writing to 127.0.0.1:{port}"):
            stream.write(b"x" * (64 * 1024 * 1024), timeout=0.3)
    finally:
        stream.close()


def test_connect_timeout(full_backlog_listener: Tuple[str, int]) -> None:
    host, port = full_backlog_listener
    with pytest.raises(ConnectTimeout) as info:
        SyncBackend().connect_tcp(host, port, timeout=0.3)
    assert str(info.value) == f"Timed out connecting to 127.0.0.1:{port} after 0.3s"


def test_connection_refused(free_port: int) -> None:
    with pytest.raises(ConnectError, match=rf"127.0.0.1:{free_port}: .*refused") as info:
        SyncBackend().connect_tcp("127.0.0.1", free_port, timeout=5)
    assert isinstance(info.value.__cause__, OSError)


def test_unresolvable_host_is_a_connect_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(ConnectError, match=r"Failed to resolve 'nowhere\.invalid'"):
        SyncBackend().connect_tcp("nowhere.invalid", 80)
    # With a timeout the lookup runs in a thread; its failure reads the same.
    with pytest.raises(ConnectError, match=r"Failed to resolve 'nowhere\.invalid'"):
        SyncBackend().connect_tcp("nowhere.invalid", 80, timeout=5)
    with pytest.raises(ConnectError, match=r"Failed to resolve 'nowhere\.invalid'"):
        SyncBackend().resolve("nowhere.invalid", 80, timeout=5)


def test_a_hanging_resolver_is_bounded_by_the_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: Any) -> Any:
        if len(args) > 3 and args[3] & socket.AI_NUMERICHOST:
            return real_getaddrinfo(host, port, *args)  # "is it an IP?" needs no resolver
        release.wait(30)  # a resolver that does not answer (until the test ends)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        started = time.monotonic()
        with pytest.raises(ConnectTimeout, match=r"Timed out resolving 'hangs\.invalid'"):
            SyncBackend().connect_tcp("hangs.invalid", 80, timeout=0.2)
        with pytest.raises(ConnectTimeout, match=r"Timed out resolving 'hangs\.invalid'"):
            SyncBackend().resolve("hangs.invalid", 80, timeout=0.2)
        assert time.monotonic() - started < 20  # not the resolver's 30 s
    finally:
        release.set()


def test_socket_options_and_local_address(echo_server: Any) -> None:
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    stream = SyncBackend().connect_tcp(
        "127.0.0.1", echo_server.port, local_address="127.0.0.1", socket_options=options
    )
    try:
        sock = stream.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
    finally:
        stream.close()


def test_local_address_must_be_an_ip() -> None:
    with pytest.raises(ValueError, match="local_address must be an IP address"):
        SyncBackend().connect_tcp("127.0.0.1", 1, local_address="my-host")


def test_local_address_family_mismatch_is_a_connect_error(echo_server: Any) -> None:
    with pytest.raises(ConnectError, match="has the address family of local_address"):
        SyncBackend().connect_tcp("127.0.0.1", echo_server.port, local_address="::")


def test_bad_socket_option_passes_through(
    monkeypatch: pytest.MonkeyPatch, echo_server: Any
) -> None:
    bad: Any = [("not", "an", "option")]
    with pytest.raises(TypeError):
        SyncBackend().connect_tcp("127.0.0.1", echo_server.port, socket_options=bad)
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.2", "127.0.0.1"])
    with pytest.raises(TypeError):
        SyncBackend().connect_tcp("localhost", echo_server.port, socket_options=bad)


def test_is_readable_detects_peer_closing_an_idle_connection(
    closing_server: Any,
) -> None:
    stream = SyncBackend().connect_tcp("127.0.0.1", closing_server.port, timeout=5)
    try:
        assert stream.get_extra_info("is_readable") is False
        stream.write(b"!", timeout=5)  # the server closes on receiving anything
        deadline = time.monotonic() + 5
        while not stream.get_extra_info("is_readable") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stream.get_extra_info("is_readable") is True
        assert stream.read(10, timeout=5) == b""
    finally:
        stream.close()
    assert stream.get_extra_info("is_readable") is True  # closed counts as unusable


def test_ipv6_loopback(echo_server_v6: Any) -> None:
    stream = SyncBackend().connect_tcp("::1", echo_server_v6.port, timeout=5)
    try:
        stream.write(b"six", timeout=5)
        assert read_exactly(stream, 3) == b"six"
        assert stream.get_extra_info("server_addr") == ("::1", echo_server_v6.port)
    finally:
        stream.close()


@pytest.mark.usefixtures("ipv6")
def test_ipv6_refused_names_the_bracketed_peer(free_port: int) -> None:
    with pytest.raises(ConnectError, match=rf"\[::1\]:{free_port}"):
        SyncBackend().connect_tcp("::1", free_port, timeout=5)


def test_unix_socket(unix_echo_server: str) -> None:
    stream = SyncBackend().connect_unix_socket(unix_echo_server, timeout=5)
    try:
        stream.write(b"local", timeout=5)
        assert read_exactly(stream, 5) == b"local"
    finally:
        stream.close()


def test_unix_socket_missing_path_is_a_connect_error(tmp_path: Any) -> None:
    with pytest.raises(ConnectError, match="Failed to connect to"):
        SyncBackend().connect_unix_socket(str(tmp_path / "missing.sock"), timeout=5)


# --- Happy Eyeballs ----------------------------------------------------------------------


@pytest.mark.usefixtures("ipv6")
def test_happy_eyeballs_falls_back_to_ipv4(
    monkeypatch: pytest.MonkeyPatch, echo_server: Any
) -> None:
    # Nothing listens on ::1 at this port: the IPv6 attempt is refused, IPv4 wins.
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.1", "::1"])
    stream = SyncBackend().connect_tcp("localhost", echo_server.port, timeout=5)
    try:
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", echo_server.port)
    finally:
        stream.close()


def test_happy_eyeballs_prefers_ipv6_when_it_answers(
    monkeypatch: pytest.MonkeyPatch, echo_server_v6: Any
) -> None:
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.1", "::1"])
    stream = SyncBackend().connect_tcp("localhost", echo_server_v6.port, timeout=5)
    try:
        assert stream.get_extra_info("server_addr")[0] == "::1"
    finally:
        stream.close()


def test_happy_eyeballs_starts_next_attempt_when_one_fails(
    monkeypatch: pytest.MonkeyPatch, echo_server: Any, free_port: int
) -> None:
    # With a huge stagger delay, only "start the next attempt on failure" can connect
    # before the timeout: 127.0.0.3 refuses (nothing listens there on this port).
    monkeypatch.setattr(sync_module, "HAPPY_EYEBALLS_DELAY", 60.0)
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.3", "127.0.0.1"])
    stream = SyncBackend().connect_tcp("localhost", echo_server.port, timeout=5)
    try:
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", echo_server.port)
    finally:
        stream.close()


def test_happy_eyeballs_races_past_a_slow_address(
    monkeypatch: pytest.MonkeyPatch,
    full_backlog_listener_127_0_0_2: Tuple[str, int],
    start_server: Callable[..., Any],
) -> None:
    # 127.0.0.2 never completes the handshake; after the 250 ms stagger 127.0.0.1 is tried.
    _, port = full_backlog_listener_127_0_0_2
    start_server(lambda conn: None, address=("127.0.0.1", port))
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.2", "127.0.0.1"])
    started = time.monotonic()
    stream = SyncBackend().connect_tcp("localhost", port, timeout=5)
    elapsed = time.monotonic() - started
    try:
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
    finally:
        stream.close()
    assert elapsed >= 0.2  # the second attempt waited for the stagger delay


def test_happy_eyeballs_total_failure_lists_every_address(
    monkeypatch: pytest.MonkeyPatch, free_port: int
) -> None:
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.1", "127.0.0.3"])
    with pytest.raises(ConnectError) as info:
        SyncBackend().connect_tcp("localhost", free_port, timeout=5)
    message = str(info.value)
    assert message.startswith(f"Failed to connect to localhost:{free_port} (tried ")
    assert f"127.0.0.1:{free_port}: " in message
    assert f"127.0.0.3:{free_port}: " in message


def test_happy_eyeballs_timeout_bounds_the_whole_connect(
    monkeypatch: pytest.MonkeyPatch, full_backlog_listener_127_0_0_2: Tuple[str, int]
) -> None:
    # 127.0.0.2 hangs, 127.0.0.1 refuses at once: the race is left waiting on the first.
    _, port = full_backlog_listener_127_0_0_2
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.2", "127.0.0.1"])
    with pytest.raises(ConnectTimeout) as info:
        SyncBackend().connect_tcp("localhost", port, timeout=0.4)
    assert str(info.value) == f"Timed out connecting to localhost:{port} after 0.4s"


# --- TLS ---------------------------------------------------------------------------------


def test_start_tls(tls_echo_server: Any, client_ssl_context: ssl.SSLContext) -> None:
    client_ssl_context.set_alpn_protocols(["http/1.1"])
    stream = SyncBackend().connect_tcp("127.0.0.1", tls_echo_server.port, timeout=5)
    tls = stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)
    try:
        tls.write(b"secret", timeout=5)
        assert read_exactly(tls, 6) == b"secret"
        ssl_object = tls.get_extra_info("ssl_object")
        assert ssl_object.version().startswith("TLS")
        assert ssl_object.getpeercert()["subjectAltName"]
        assert tls.get_extra_info("is_readable") is False
    finally:
        tls.close()


def test_start_tls_verify_failure(
    tls_echo_server: Any, untrusting_ssl_context: ssl.SSLContext
) -> None:
    stream = SyncBackend().connect_tcp("127.0.0.1", tls_echo_server.port, timeout=5)
    with pytest.raises(ConnectError, match="certificate verify failed") as info:
        stream.start_tls(untrusting_ssl_context, server_hostname="localhost", timeout=5)
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
    assert stream.get_extra_info("socket").fileno() == -1  # closed on failure


def test_start_tls_hostname_mismatch(
    tls_echo_server: Any, client_ssl_context: ssl.SSLContext
) -> None:
    stream = SyncBackend().connect_tcp("127.0.0.1", tls_echo_server.port, timeout=5)
    with pytest.raises(ConnectError, match=r"TLS handshake with example\.org failed"):
        stream.start_tls(client_ssl_context, server_hostname="example.org", timeout=5)


def test_start_tls_handshake_timeout(
    silent_listener: Tuple[str, int], client_ssl_context: ssl.SSLContext
) -> None:
    stream = SyncBackend().connect_tcp(*silent_listener, timeout=5)
    with pytest.raises(ConnectTimeout, match="Timed out during TLS handshake with localhost"):
        stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=0.2)


def test_tls_in_tls(tls_tunnel: Any, client_ssl_context: ssl.SSLContext) -> None:
    stream = SyncBackend().connect_tcp("127.0.0.1", tls_tunnel.port, timeout=5)
    outer = stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)
    inner = outer.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)
    try:
        assert inner.get_extra_info("ssl_object") is not outer.get_extra_info("ssl_object")
        assert isinstance(inner.get_extra_info("ssl_object"), ssl.SSLObject)
        payload = os.urandom(200_000)
        inner.write(payload, timeout=5)
        assert read_exactly(inner, len(payload)) == payload
        assert inner.get_extra_info("is_readable") is False
        assert inner.get_extra_info("server_addr") == ("127.0.0.1", tls_tunnel.port)
    finally:
        inner.close()
    assert outer.get_extra_info("socket").fileno() == -1


def test_tls_in_tls_verify_failure(
    tls_tunnel: Any,
    client_ssl_context: ssl.SSLContext,
    untrusting_ssl_context: ssl.SSLContext,
) -> None:
    stream = SyncBackend().connect_tcp("127.0.0.1", tls_tunnel.port, timeout=5)
    outer = stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)
    with pytest.raises(ConnectError, match="certificate verify failed"):
        outer.start_tls(untrusting_ssl_context, server_hostname="localhost", timeout=5)
    assert outer.get_extra_info("socket").fileno() == -1


# --- primitives --------------------------------------------------------------------------


def test_event_wait_times_out_then_sees_set() -> None:
    event = SyncBackend().create_event()
    assert event.wait(0.01) is False
    assert not event.is_set()
    threading.Timer(0.01, event.set).start()
    assert event.wait(5) is True
    assert event.is_set()


def test_lock_excludes_other_threads() -> None:
    lock = SyncBackend().create_lock()
    inside: List[int] = []
    overlaps: List[bool] = []

    def work() -> None:
        for _ in range(200):
            with lock:
                inside.append(1)
                overlaps.append(len(inside) > 1)
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(overlaps) == 800
    assert not any(overlaps)


def test_semaphore() -> None:
    semaphore = SyncBackend().create_semaphore(1)
    with semaphore:
        assert semaphore.acquire(timeout=0.01) is False
    assert semaphore.acquire(timeout=0.01) is True
    semaphore.release()


def test_clock_and_sleep() -> None:
    backend = SyncBackend()
    before = backend.time()
    backend.sleep(0.01)
    assert backend.time() - before >= 0.01


def test_sync_backend_never_imports_anyio() -> None:
    code = (
        "import sys, httpduo._backends.sync, httpduo._backends.mock;"
        "sys.exit('anyio' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.path.abspath(SRC)}
    result = subprocess.run([sys.executable, "-c", code], env=env, timeout=60, check=False)
    assert result.returncode == 0, "importing the sync backend imported anyio"
