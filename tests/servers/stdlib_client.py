"""A tiny stdlib HTTP/1.1 client for the server self-tests (http.client and socket only).

Rules: every socket operation is bounded by TIMEOUT, so a broken server fails a test
instead of hanging it.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Dict, List, Optional, Tuple

from tests.servers.base import BackgroundServer

TIMEOUT = 5.0
Headers = List[Tuple[str, str]]


class Result:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers: Headers = response.getheaders()
        self.body = response.read()
        self.version = response.version

    def header(self, name: str) -> Optional[str]:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> object:
        return json.loads(self.body)


def request(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: Optional[bytes] = None,
    headers: Optional[Dict[str, str]] = None,
) -> Result:
    conn.request(method, path, body=body, headers=headers or {})
    return Result(conn.getresponse())


def get(server: BackgroundServer, path: str, headers: Optional[Dict[str, str]] = None) -> Result:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    try:
        return request(conn, "GET", path, headers=headers)
    finally:
        conn.close()


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=TIMEOUT)
        self.uds_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        sock.connect(self.uds_path)
        self.sock = sock


def raw_exchange(address: Tuple[str, int], data: bytes) -> Tuple[bytes, Optional[OSError]]:
    """Send `data`, read until EOF or error; returns what arrived and the error, if any."""
    received = b""
    with socket.create_connection(address, timeout=TIMEOUT) as sock:
        sock.sendall(data)
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return received, None
                received += chunk
        except OSError as exc:
            return received, exc


GET_ROOT = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
