"""The raw fault server, each ready-made script and the never-accepting listener work."""

from __future__ import annotations

import http.client
import socket
import time
from contextlib import closing

import pytest

from tests.servers.fixtures import RawServerFactory
from tests.servers.raw import (
    HTTP10_BODY,
    OK_RESPONSE,
    Conn,
    NeverAccepts,
    RawServer,
    close_idle_keepalive,
    early_response,
    http10_close_delimited,
    interim_100_continue,
    invalid_status_line,
    keepalive_n,
    never_reads,
    oversized_headers,
    reply,
    reset_mid_body,
    reset_mid_headers,
    slow_drip,
    truncated_body,
)
from tests.servers.stdlib_client import GET_ROOT, TIMEOUT, raw_exchange, request

pytestmark = pytest.mark.network


def test_raw_reply_records_requests(raw_server: RawServerFactory) -> None:
    fault = raw_server(reply(OK_RESPONSE))
    received, error = raw_exchange((fault.host, fault.port), GET_ROOT)
    assert (received, error) == (OK_RESPONSE, None)
    assert fault.connections == 1
    assert fault.requests == [GET_ROOT]
    assert fault.url == f"http://127.0.0.1:{fault.port}"


def test_raw_reply_keepalive(raw_server: RawServerFactory) -> None:
    fault = raw_server(reply(OK_RESPONSE, close=False))
    conn = http.client.HTTPConnection(fault.host, fault.port, timeout=TIMEOUT)
    with closing(conn):
        assert request(conn, "GET", "/").body == b"Hello, world!"
        assert request(conn, "POST", "/", body=b"data").body == b"Hello, world!"
    assert fault.connections == 1
    assert fault.requests[0].count(b"HTTP/1.1\r\n") == 2


def test_raw_reset_mid_headers(raw_server: RawServerFactory) -> None:
    fault = raw_server(reset_mid_headers)
    received, error = raw_exchange((fault.host, fault.port), GET_ROOT)
    assert received == b"HTTP/1.1 200 OK\r\nContent-Type: tex"
    assert isinstance(error, ConnectionResetError)


def test_raw_reset_mid_body(raw_server: RawServerFactory) -> None:
    fault = raw_server(reset_mid_body)
    received, error = raw_exchange((fault.host, fault.port), GET_ROOT)
    assert received.endswith(b"\r\n\r\n" + b"x" * 50)
    assert isinstance(error, ConnectionResetError)


def test_raw_truncated_body(raw_server: RawServerFactory) -> None:
    fault = raw_server(truncated_body)
    received, error = raw_exchange((fault.host, fault.port), GET_ROOT)
    assert error is None
    assert b"Content-Length: 100\r\n" in received
    assert received.endswith(b"\r\n\r\n" + b"x" * 50)


def test_raw_invalid_status_line(raw_server: RawServerFactory) -> None:
    fault = raw_server(invalid_status_line)
    conn = http.client.HTTPConnection(fault.host, fault.port, timeout=TIMEOUT)
    with closing(conn):
        conn.request("GET", "/")
        with pytest.raises(http.client.BadStatusLine):
            conn.getresponse()


def test_raw_oversized_headers(raw_server: RawServerFactory) -> None:
    fault = raw_server(oversized_headers)
    received, error = raw_exchange((fault.host, fault.port), GET_ROOT)
    assert error is None
    head, _, body = received.partition(b"\r\n\r\n")
    assert len(head) > 200_000
    assert body == b""


def test_raw_close_idle_keepalive(raw_server: RawServerFactory) -> None:
    fault = raw_server(close_idle_keepalive)
    with socket.create_connection((fault.host, fault.port), timeout=TIMEOUT) as sock:
        for _ in range(2):  # a request within the idle period is still served
            sock.sendall(GET_ROOT)
            received = b""
            while not received.endswith(b"Hello, world!"):
                received += sock.recv(65536)
            assert b"Connection: keep-alive" in received
        assert sock.recv(1) == b"", "the idle connection was not closed"


def test_raw_slow_drip(raw_server: RawServerFactory) -> None:
    fault = raw_server(slow_drip)
    with socket.create_connection((fault.host, fault.port), timeout=TIMEOUT) as sock:
        sock.sendall(GET_ROOT)
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        assert received.endswith(b"\r\n\r\n"), "body bytes came with the head"
        assert sock.recv(10) == b"a"
        assert sock.recv(10) == b"b"


def test_raw_never_reads_stalls_uploads(raw_server: RawServerFactory) -> None:
    fault = raw_server(never_reads)
    with socket.create_connection((fault.host, fault.port), timeout=0.5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        with pytest.raises(socket.timeout):
            sock.sendall(b"x" * (16 * 1024 * 1024))
        deadline = time.monotonic() + TIMEOUT
        while fault.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # the acceptor thread may lag behind the kernel's handshake
    assert fault.requests == [b""]


def test_raw_early_response(raw_server: RawServerFactory) -> None:
    fault = raw_server(early_response)
    head = b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 67108864\r\n\r\n"
    with socket.create_connection((fault.host, fault.port), timeout=TIMEOUT) as sock:
        try:
            sock.sendall(head)
            for _ in range(64):
                sock.sendall(b"x" * (1 << 20))
        except (ConnectionResetError, BrokenPipeError):
            pass
        else:
            pytest.fail("the whole upload was accepted")
        assert sock.recv(65536).startswith(b"HTTP/1.1 413 Payload Too Large\r\n")


def test_raw_http10_close_delimited(raw_server: RawServerFactory) -> None:
    fault = raw_server(http10_close_delimited)
    conn = http.client.HTTPConnection(fault.host, fault.port, timeout=TIMEOUT)
    with closing(conn):
        result = request(conn, "GET", "/")
    assert (result.version, result.body) == (10, HTTP10_BODY)
    assert result.header("content-length") is None


def test_raw_interim_100_continue(raw_server: RawServerFactory) -> None:
    fault = raw_server(interim_100_continue)
    head = (
        b"POST / HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
    )
    with socket.create_connection((fault.host, fault.port), timeout=TIMEOUT) as sock:
        sock.sendall(head)
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            interim += sock.recv(1)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert received.endswith(b'{"received": 5}')


def test_raw_keepalive_n(raw_server: RawServerFactory) -> None:
    fault = raw_server(keepalive_n(3))
    conn = http.client.HTTPConnection(fault.host, fault.port, timeout=TIMEOUT)
    with closing(conn):
        bodies = [request(conn, "GET", f"/{i}").body for i in range(3)]
        assert conn.sock is None, "Connection: close on the last response was not sent"
    assert bodies == [b"response 1", b"response 2", b"response 3"]
    assert fault.connections == 1


def test_raw_server_records_script_crashes() -> None:
    def broken(conn: object) -> None:
        raise AssertionError("script bug")

    fault = RawServer(broken)
    try:
        raw_exchange((fault.host, fault.port), GET_ROOT)
    finally:
        fault.stop()
    assert len(fault.errors) == 1
    assert "AssertionError: script bug" in fault.errors[0]


def test_raw_server_ignores_peers_that_leave(raw_server: RawServerFactory) -> None:
    fault = raw_server(reply(OK_RESPONSE))
    socket.create_connection((fault.host, fault.port), timeout=TIMEOUT).close()
    received, _ = raw_exchange((fault.host, fault.port), GET_ROOT)
    assert received == OK_RESPONSE
    assert fault.connections == 2
    # The fixture's teardown fails the test if the first, silent connection counted
    # as a script error.


def test_never_accepts_makes_connects_time_out(never_accepts: NeverAccepts) -> None:
    with pytest.raises(socket.timeout):
        socket.create_connection(never_accepts.address, timeout=0.5)


def test_raw_half_close_and_read_until_closed(raw_server: RawServerFactory) -> None:
    def script(conn: Conn) -> None:
        assert conn.recv_request_head() == GET_ROOT
        conn.send(OK_RESPONSE)
        conn.shutdown_write()
        assert conn.recv_until_closed() == b"tail"  # a failure here fails the test

    fault = raw_server(script)
    with socket.create_connection((fault.host, fault.port), timeout=TIMEOUT) as sock:
        sock.sendall(GET_ROOT + b"tail")
        received = b""
        while chunk := sock.recv(65536):  # ends at the server's FIN
            received += chunk
        assert received == OK_RESPONSE
        sock.shutdown(socket.SHUT_WR)
        fault.wait_for_scripts()
    assert fault.requests == [GET_ROOT + b"tail"]
