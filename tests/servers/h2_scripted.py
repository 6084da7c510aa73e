"""A scripted HTTP/2 server (h2c, prior knowledge) for fault injection, on raw.py.

Rules:
- Scripts are ordinary raw.py scripts, run by the `raw_server` fixture (one thread per
  connection, every socket operation bounded by `Conn.timeout`); `H2Peer(conn)` puts
  the h2 library's server side on the accepted socket and sends the server preface.
- The peer only does what the script asks, in order. `receive()` reads once, feeds h2,
  records the requests and flushes whatever h2 wants to send (SETTINGS/PING acks).
  Received body data is acknowledged at once unless `auto_ack=False`.
- `serve(handler)` answers every complete request with `handler(peer, request)` until
  the client closes; `answer_path` is a handler answering 200 with the request's path.
- The server side never trusts the client: h2 raises on any protocol violation (too
  many streams, flow-control overrun, ...), which fails the test through raw.py.

Fixtures (registered by tests/conftest.py):
  h2_server_unlimited    hypercorn over TLS (ALPN h2) like `h2_server`, without
                         hypercorn's GOAWAY after 1000 requests on a connection, for
                         tests that send more than that over one connection
  nginx_h2_server        nginx (an independent HTTP/2 implementation) over TLS with
                         ALPN h2, started from a generated config on 127.0.0.1 with the
                         test certificate and stopped at the end of the session; skips
                         when no nginx binary is installed (Debian: nginx-light).
                         Serves GET / ("Hello, world!") and /files/ (a directory with
                         `NGINX_LARGE_FILE`, NGINX_LARGE_SIZE pattern bytes; PUT
                         stores a file there, GET reads it back)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest
from hyperframe.frame import GoAwayFrame

from tests.missing import missing
from tests.servers.app import iter_pattern
from tests.servers.base import ServerStartError
from tests.servers.certs import TLSFiles
from tests.servers.hypercorn_server import HypercornServer
from tests.servers.raw import Conn, PeerClosed

Handler = Callable[["H2Peer", "H2Request"], None]


class H2Request:
    """One request stream as the server received it."""

    def __init__(self, stream_id: int, headers: List[tuple[bytes, bytes]]) -> None:
        self.stream_id = stream_id
        self.headers = headers
        self.body = bytearray()
        self.complete = False
        self.reset = False

    def header(self, name: bytes) -> Optional[bytes]:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def path(self) -> bytes:
        return self.header(b":path") or b""

    def __repr__(self) -> str:
        return f"<H2Request {self.stream_id} {self.path!r} complete={self.complete}>"


class H2Peer:
    """The server side of one HTTP/2 connection, driven step by step by a script."""

    def __init__(
        self,
        conn: Conn,
        *,
        max_concurrent_streams: int = 100,
        initial_window_size: int = 65535,
        max_frame_size: int = 16384,
        auto_ack: bool = True,
    ) -> None:
        self.conn = conn
        self.auto_ack = auto_ack
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding=None)
        )
        codes = h2.settings.SettingCodes
        self.h2.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                codes.MAX_CONCURRENT_STREAMS: max_concurrent_streams,
                codes.INITIAL_WINDOW_SIZE: initial_window_size,
                codes.MAX_FRAME_SIZE: max_frame_size,
            },
        )
        # Settings given at creation apply at once, frame size limit included.
        self.h2.max_inbound_frame_size = max_frame_size
        self.requests: Dict[int, H2Request] = {}
        self.events: List[h2.events.Event] = []
        self.closed = False
        # Received body bytes not yet acknowledged, per stream (auto_ack=False).
        self.unacked: Dict[int, int] = {}
        self.h2.initiate_connection()
        self.flush()

    # ---- I/O -------------------------------------------------------------------------

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data:
            self.conn.send(data)

    def receive(self) -> List[h2.events.Event]:
        """Read once (blocking up to the connection timeout) and handle what arrived."""
        if self.closed:
            raise PeerClosed("the client closed the connection")
        data = self.conn.sock.recv(65536)
        if not data:
            self.closed = True
            return []
        events = self.h2.receive_data(data)
        for event in events:
            self._record(event)
        self.events.extend(events)
        self.flush()
        return events

    def _record(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            headers = [(bytes(k), bytes(v)) for k, v in event.headers or ()]
            assert event.stream_id is not None
            self.requests[event.stream_id] = H2Request(event.stream_id, headers)
        elif isinstance(event, h2.events.DataReceived):
            assert event.stream_id is not None
            self.requests[event.stream_id].body += event.data or b""
            length = event.flow_controlled_length or 0
            if self.auto_ack:
                if length:
                    self.h2.acknowledge_received_data(length, event.stream_id)
            else:
                self.unacked[event.stream_id] = self.unacked.get(event.stream_id, 0) + length
        elif isinstance(event, h2.events.StreamEnded):
            assert event.stream_id is not None
            self.requests[event.stream_id].complete = True
        elif isinstance(event, h2.events.StreamReset):
            request = self.requests.get(event.stream_id or 0)
            if request is not None:
                request.reset = True

    def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Receive until `predicate()` holds; PeerClosed if the client leaves first."""
        while not predicate():
            self.receive()
            if self.closed and not predicate():
                raise PeerClosed("the client closed the connection before the condition held")

    def wait_for_requests(self, n: int) -> List[H2Request]:
        """The first `n` requests, once all of them are complete."""
        self.wait_for(lambda: sum(1 for r in self.requests.values() if r.complete or r.reset) >= n)
        return sorted(self.requests.values(), key=lambda r: r.stream_id)[:n]

    def serve(self, handler: Optional[Handler] = None) -> None:
        """Answer each complete request with `handler` until the client closes."""
        handler = handler or answer_path
        answered: set[int] = set()
        while not self.closed:
            for request in list(self.requests.values()):
                if request.complete and request.stream_id not in answered:
                    answered.add(request.stream_id)
                    handler(self, request)
            if not self.closed:
                self.receive()

    # ---- frames ----------------------------------------------------------------------

    def send_headers(
        self,
        stream_id: int,
        status: int = 200,
        headers: Optional[List[tuple[bytes, bytes]]] = None,
        end_stream: bool = False,
    ) -> None:
        block = [(b":status", str(status).encode()), *(headers or [])]
        self.h2.send_headers(stream_id, block, end_stream=end_stream)
        self.flush()

    def send_data(self, stream_id: int, data: bytes, end_stream: bool = False) -> None:
        """Send `data` within the flow-control windows, receiving WINDOW_UPDATEs as needed."""
        view = memoryview(data)
        while True:
            window = self.h2.local_flow_control_window(stream_id)
            size = min(window, self.h2.max_outbound_frame_size, len(view))
            if size or not view:
                last = size == len(view)
                self.h2.send_data(stream_id, bytes(view[:size]), end_stream=end_stream and last)
                self.flush()
                view = view[size:]
                if last:
                    return
            else:
                self.receive()
                if self.closed:
                    raise PeerClosed("the client closed the connection while we sent data")

    def respond(
        self,
        stream_id: int,
        body: bytes = b"",
        status: int = 200,
        headers: Optional[List[tuple[bytes, bytes]]] = None,
    ) -> None:
        fields = [(b"content-length", str(len(body)).encode()), *(headers or [])]
        self.send_headers(stream_id, status, fields, end_stream=not body)
        if body:
            self.send_data(stream_id, body, end_stream=True)

    def reset(self, stream_id: int, error_code: int) -> None:
        self.h2.reset_stream(stream_id, error_code)
        self.flush()

    def goaway(self, last_stream_id: int, error_code: int = 0) -> None:
        """Send GOAWAY, and still answer streams up to `last_stream_id` afterwards.

        Written by hand: h2's own `close_connection()` refuses all frames after it.
        """
        self.flush()
        frame = GoAwayFrame(0)
        frame.last_stream_id = last_stream_id
        frame.error_code = error_code
        self.conn.send(frame.serialize())

    def update_settings(self, settings: Dict[int, int]) -> None:
        self.h2.update_settings(settings)
        self.flush()

    def open_window(self, increment: int, stream_id: Optional[int] = None) -> None:
        self.h2.increment_flow_control_window(increment, stream_id)
        self.flush()

    def ack_all(self) -> None:
        """Acknowledge every received body byte (auto_ack=False): the windows reopen."""
        for stream_id, length in self.unacked.items():
            if length:
                self.h2.acknowledge_received_data(length, stream_id)
        self.unacked.clear()
        self.flush()

    def ping(self, data: bytes = b"12345678") -> None:
        self.h2.ping(data)
        self.flush()

    def linger(self) -> None:
        """Close gracefully: stop sending, read until the client closes, then close."""
        self.conn.shutdown_write()
        try:
            while not self.closed:
                data = self.conn.sock.recv(65536)
                self.closed = not data
        except OSError:
            pass


def answer_path(peer: H2Peer, request: H2Request) -> None:
    """200 with the request's path as the body."""
    peer.respond(request.stream_id, request.path)


def serve_path(conn: Conn) -> None:
    """A script: answer every request with its path, until the client closes."""
    H2Peer(conn).serve()


@pytest.fixture(scope="session")
def h2_server_unlimited(tls_files: TLSFiles) -> Iterator[HypercornServer]:
    server = HypercornServer(
        certfile=tls_files.certfile, keyfile=tls_files.keyfile, ca_cert=tls_files.ca_cert
    )
    server.config.keep_alive_max_requests = 1 << 30
    try:
        server.start()
    except ServerStartError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


# ---- nginx ---------------------------------------------------------------------------

NGINX_LARGE_FILE = "large.bin"
NGINX_LARGE_SIZE = 20 * 1000 * 1000

_NGINX_CONFIG = """\
{user}daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        server_name localhost;
        ssl_certificate {certfile};
        ssl_certificate_key {keyfile};
        keepalive_requests 100000;
        client_max_body_size 200m;
        location = / {{
            default_type text/plain;
            return 200 "Hello, world!";
        }}
        location /files/ {{
            alias {root}/files/;
            dav_methods PUT;
        }}
    }}
}}
"""


class NginxServer:
    """nginx in a subprocess: `.url`, `.host`, `.port`, `.files` (the served directory)."""

    def __init__(self, binary: str, tls_files: TLSFiles) -> None:
        self.host = "127.0.0.1"
        self.root = Path(tempfile.mkdtemp(prefix="httpduo-nginx-"))
        self.files = self.root / "files"
        self.files.mkdir()
        (self.root / "tmp").mkdir()
        with socket.socket() as probe:
            probe.bind((self.host, 0))
            self.port: int = probe.getsockname()[1]
        with open(self.files / NGINX_LARGE_FILE, "wb") as out:
            for chunk in iter_pattern(NGINX_LARGE_SIZE, 1 << 20):
                out.write(chunk)
        config = self.root / "nginx.conf"
        config.write_text(
            _NGINX_CONFIG.format(
                user="user root root;\n" if os.geteuid() == 0 else "",
                root=self.root,
                port=self.port,
                certfile=tls_files.certfile,
                keyfile=tls_files.keyfile,
            )
        )
        self.process = subprocess.Popen(
            [binary, "-p", str(self.root), "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise ServerStartError(f"nginx exited during startup: {error.strip()}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise ServerStartError(f"nginx did not start within {timeout:g} s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)  # fast shutdown
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(5)
            if self.process.stderr is not None:
                self.process.stderr.close()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _nginx_binary() -> Optional[str]:
    return shutil.which("nginx") or next(
        (
            path
            for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
            if os.access(path, os.X_OK)
        ),
        None,
    )


@pytest.fixture(scope="session")
def nginx_h2_server(tls_files: TLSFiles) -> Iterator[NginxServer]:
    binary = _nginx_binary()
    if binary is None:
        missing("nginx is not installed (Debian/Ubuntu: apt-get install nginx-light)")
    server = NginxServer(binary, tls_files)
    try:
        server.wait_ready()
    except ServerStartError as exc:
        server.stop()
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
