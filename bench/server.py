"""The bench server: a private nginx on 127.0.0.1, or a clearly labelled uvicorn fallback.

Rules:
- The harness starts its own server from a configuration generated in a temporary
  directory; every path the server writes (pid, error log, temp dirs) lives there, so no
  root is needed and nothing outside is touched. The directory is removed afterwards.
- nginx runs as ONE process (`master_process off; daemon off;`), so the PID started is
  the whole server. It is stopped by that PID only (TERM, then KILL after 5 s), on normal
  exit, on an exception, on Ctrl-C and on SIGTERM.
- One worker (the one process) leaves the other core of a 2-core machine to the client.
  `keepalive_requests` is high so a connection is never closed mid-run by the server.
- Without nginx the fallback is uvicorn in a subprocess (not a thread: the CPU column must
  stay the client's own). A Python server is slower than the clients it serves, so its
  ratios are marked server-bound and a warning is printed.
- The server is ready when it answers `/small` correctly, not when its port opens.
- `/large-gzip` serves `gzip_body(size)`: text-like content that compresses about 3:1
  (so decoding, not the network, is what a client spends its time on), gzipped once at
  startup, sent with `Content-Encoding: gzip`; it decodes to `large_size` bytes.
- nginx also listens with TLS, HTTP/2 and HTTP/1.1 on one port (ALPN picks), with a
  certificate issued at startup by a throwaway CA (trustme, else `cryptography`) whose
  PEM file the clients trust (`ServerInfo.ca_path`). Streams per connection
  (`http2_max_concurrent_streams`) exceed the bench's concurrency, and HTTP/2
  connections are kept alive like HTTP/1.1 ones (`keepalive_requests`/`_timeout`). Without
  TLS (uvicorn, or an nginx built without ssl/http_v2) `tls_base_url` is None and the
  TLS scenarios say so instead of running.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import importlib.util
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Optional

from bench.floors import SocketFloor

__all__ = [
    "LARGE_BLOCK",
    "gzip_body",
    "SMALL_BODY",
    "ServerInfo",
    "ServerUnavailable",
    "bench_server",
    "client_ssl_context",
    "find_nginx",
]

SMALL_BODY = b"Hello, world!"
LARGE_BLOCK = bytes(range(256)) * 4096  # /large is this 1 MiB, repeated (then cut)


def _text_block() -> bytes:
    """1 MiB of words drawn from a small vocabulary: compresses about 3:1, like text."""
    import random

    rng = random.Random(17)
    vocabulary = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
        for _ in range(2000)
    ]
    words = " ".join(rng.choice(vocabulary) for _ in range(200_000)).encode("ascii")
    return (words * 2)[: 1 << 20]


def gzip_body(size: int) -> bytes:
    """`size` bytes of text-like content (a 1 MiB block, repeated: beyond gzip's 32 KiB
    window, so it compresses no better for it), gzipped as one member."""
    import zlib

    block = _text_block()
    compressor = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    whole, rest = divmod(size, len(block))
    parts = [compressor.compress(block) for _ in range(whole)]
    parts += [compressor.compress(block[:rest]), compressor.flush()]
    return b"".join(parts)


_READY_TIMEOUT = 15.0
_NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
# More than any concurrency the bench uses, so streams never queue at the server.
H2_MAX_CONCURRENT_STREAMS = 128
# Temp-path directive per optional nginx module: a build without the module rejects it.
_TEMP_PATHS = {
    "client_body_temp_path": None,
    "proxy_temp_path": "http_proxy",
    "fastcgi_temp_path": "http_fastcgi",
    "uwsgi_temp_path": "http_uwsgi",
    "scgi_temp_path": "http_scgi",
}


class ServerUnavailable(Exception):
    """The requested server cannot be started here; the message says why."""


@dataclass(frozen=True)
class ServerInfo:
    """Where the bench server listens and what it serves."""

    kind: str  # "nginx" or "uvicorn"
    version: str
    base_url: str
    large_size: int
    server_bound: bool  # True when the server, not the client, may set the pace
    # The TLS listener (HTTP/2 and HTTP/1.1 by ALPN) and the CA file that trusts it;
    # None when there is none, and `tls_missing` says why.
    tls_base_url: Optional[str] = None
    ca_path: Optional[str] = None
    tls_missing: str = ""

    @property
    def small_url(self) -> str:
        return self.base_url + "/small"

    @property
    def large_url(self) -> str:
        return self.base_url + "/large"

    @property
    def gzip_url(self) -> str:
        """`gzip_body(large_size)`, with `Content-Encoding: gzip`."""
        return self.base_url + "/large-gzip"

    @property
    def tls_small_url(self) -> str:
        return self._tls("/small")

    @property
    def tls_large_url(self) -> str:
        return self._tls("/large")

    def _tls(self, path: str) -> str:
        if self.tls_base_url is None:
            raise ServerUnavailable(f"no TLS listener: {self.tls_missing}")
        return self.tls_base_url + path


def client_ssl_context(ca_path: str, alpn: list[str]) -> ssl.SSLContext:
    """A verifying client context that trusts the bench CA and offers `alpn`.

    Each client gets its own: some libraries set ALPN on the context they are handed.
    """
    context = ssl.create_default_context(cafile=ca_path)
    context.set_alpn_protocols(alpn)
    return context


def find_nginx() -> Optional[str]:
    """The nginx binary, also where a non-root PATH has no sbin directories."""
    found = shutil.which("nginx")
    if found:
        return found
    for candidate in _NGINX_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


@contextlib.contextmanager
def bench_server(kind: str, large_size: int) -> Iterator[ServerInfo]:
    """Start the bench server (`kind`: "auto", "nginx" or "uvicorn") and stop it after.

    "auto" uses nginx when it is installed and falls back to uvicorn with a warning.
    """
    if kind not in ("auto", "nginx", "uvicorn"):
        raise ValueError(f"unknown server kind {kind!r}")
    nginx = find_nginx()
    if kind == "nginx" and nginx is None:
        raise ServerUnavailable("nginx is not installed (Debian: apt-get install -y nginx-light)")
    with tempfile.TemporaryDirectory(prefix="httpduo-bench-") as tmp:
        root = Path(tmp)
        www = root / "www"
        www.mkdir()
        _write_large_file(www / "large", large_size)
        (www / "large.gz").write_bytes(gzip_body(large_size))
        with _sigterm_raises():
            if nginx is not None and kind != "uvicorn":
                yield from _run_nginx(nginx, root, large_size)
            else:
                if kind == "auto":
                    print(
                        "WARNING: nginx not found; falling back to uvicorn. A Python server "
                        "is slower than the clients it serves: these ratios are "
                        "SERVER-BOUND and understate the differences between clients. "
                        "Install nginx (apt-get install -y nginx-light) for real numbers.",
                        file=sys.stderr,
                    )
                yield from _run_uvicorn(root, large_size)


def _write_large_file(path: Path, size: int) -> None:
    with path.open("wb") as f:
        # Written out, not sparse: the server really reads it (from the page cache).
        whole, rest = divmod(size, len(LARGE_BLOCK))
        for _ in range(whole):
            f.write(LARGE_BLOCK)
        f.write(LARGE_BLOCK[:rest])


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    # SIGTERM's default action skips `finally`; turned into SystemExit, the server is
    # stopped by the same path as Ctrl-C. Only possible from the main thread.
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGTERM)

        def _exit(signum: int, frame: Optional[FrameType]) -> None:
            raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, _exit)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)
    else:
        yield


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _nginx_build(nginx: str) -> tuple[str, str]:
    """(version, configure arguments) as `nginx -V` reports them (on stderr)."""
    out = subprocess.run([nginx, "-V"], capture_output=True, text=True, check=False)
    text = out.stderr + out.stdout
    version = "nginx"
    for line in text.splitlines():
        if line.startswith("nginx version:"):
            version = line.split(":", 1)[1].strip()
    return version, text


@dataclass(frozen=True)
class _Certificate:
    ca: Path  # the CA certificate clients trust
    chain: Path  # the server certificate, then its issuer
    key: Path


def _issue_certificate(root: Path) -> _Certificate:
    """A throwaway CA and a certificate for 127.0.0.1 and localhost, as PEM files."""
    paths = _Certificate(root / "ca.pem", root / "server-chain.pem", root / "server-key.pem")
    if importlib.util.find_spec("trustme") is not None:
        import trustme

        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        ca.cert_pem.write_to_path(str(paths.ca))
        paths.chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        leaf.private_key_pem.write_to_path(str(paths.key))
        return paths
    return _issue_with_cryptography(paths)


def _issue_with_cryptography(paths: _Certificate) -> _Certificate:
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise ServerUnavailable("neither trustme nor cryptography is installed") from None
    import ipaddress

    now = datetime.datetime.now(datetime.timezone.utc)
    pem = serialization.Encoding.PEM

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    def build(
        subject: str, issuer: str, key: ec.EllipticCurvePrivateKey
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name(issuer))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        build("httpduo bench CA", "httpduo bench CA", ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        build("127.0.0.1", "httpduo bench CA", key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths.ca.write_bytes(ca_cert.public_bytes(pem))
    paths.chain.write_bytes(cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    paths.key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def _nginx_version(version: str) -> tuple[int, ...]:
    """(1, 22, 1) from "nginx/1.22.1"; () if unparsable."""
    digits = version.rpartition("/")[2].split()[0] if version else ""
    try:
        return tuple(int(part) for part in digits.split("."))
    except ValueError:
        return ()


def _tls_missing(configure: str) -> str:
    """Why this nginx build cannot serve HTTP/2 over TLS ("" when it can)."""
    missing = [
        module
        for module in ("http_ssl_module", "http_v2_module")
        if f"--with-{module}" not in configure
    ]
    return f"nginx built without {', '.join(missing)}" if missing else ""


def _tls_server_block(
    port: int, version: str, cert: _Certificate, www: Path, locations: str
) -> str:
    def q(path: Path) -> str:
        return '"' + str(path) + '"'

    # nginx 1.25.1 moved HTTP/2 from a `listen` parameter to the `http2` directive.
    if _nginx_version(version) >= (1, 25, 1):
        listen = f"listen 127.0.0.1:{port} ssl;\n        http2 on;"
    else:
        listen = f"listen 127.0.0.1:{port} ssl http2;"
    return f"""
    server {{
        {listen}
        ssl_certificate {q(cert.chain)};
        ssl_certificate_key {q(cert.key)};
        ssl_protocols TLSv1.2 TLSv1.3;
        http2_max_concurrent_streams {H2_MAX_CONCURRENT_STREAMS};
        # A DATA frame's default maximum (16 KiB) instead of nginx's 8 KiB slices.
        http2_chunk_size 16k;
        root {q(www)};
{locations}
    }}
"""


def _nginx_config(
    root: Path,
    port: int,
    configure: str,
    tls: Optional[tuple[int, str, _Certificate]] = None,
) -> str:
    def q(path: Path) -> str:
        return '"' + str(path) + '"'

    temp_lines = []
    for directive, module in _TEMP_PATHS.items():
        if module is not None and f"--without-{module}_module" in configure:
            continue
        temp_lines.append(f"    {directive} {q(root / 'tmp' / directive)};")
    temps = "\n".join(temp_lines)
    locations = f"""
        location = /small {{
            default_type text/plain;
            return 200 "{SMALL_BODY.decode("ascii")}";
        }}

        location = /large {{
        }}

        location = /large-gzip {{
            alias {q(root / "www" / "large.gz")};
            default_type text/plain;
            add_header Content-Encoding gzip;
        }}"""
    tls_block = ""
    if tls is not None:
        tls_port, version, cert = tls
        tls_block = _tls_server_block(tls_port, version, cert, root / "www", locations)
    return f"""# Generated by bench/server.py for one benchmark run.
daemon off;
master_process off;
worker_processes 1;
pid {q(root / "nginx.pid")};
error_log {q(root / "error.log")} warn;

events {{
    worker_connections 1024;
}}

http {{
    access_log off;
{temps}
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000;
    keepalive_timeout 300s;
    server_tokens off;
    default_type application/octet-stream;

    server {{
        listen 127.0.0.1:{port};
        root {q(root / "www")};
{locations}
    }}
{tls_block}}}
"""


def _run_nginx(nginx: str, root: Path, large_size: int) -> Iterator[ServerInfo]:
    version, configure = _nginx_build(nginx)
    (root / "tmp").mkdir()
    error_log = root / "error.log"
    tls_missing = _tls_missing(configure)
    cert = None if tls_missing else _issue_certificate(root)
    for attempt in range(3):
        port = _free_port()  # another process may take it before nginx does: retry
        tls_port = _free_port()
        while tls_port == port:
            tls_port = _free_port()
        tls = None if cert is None else (tls_port, version, cert)
        conf = root / "nginx.conf"
        conf.write_text(_nginx_config(root, port, configure, tls))
        with (root / "nginx.stderr").open("ab") as stderr:
            proc = subprocess.Popen(
                [nginx, "-p", str(root), "-c", str(conf), "-e", str(error_log)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )
        try:
            base_url = f"http://127.0.0.1:{port}"
            if not _wait_ready(proc, base_url):
                if attempt < 2 and "in use" in _log_text(error_log):
                    continue
                raise ServerUnavailable(
                    f"nginx did not start; it says:\n{_log_text(error_log)}\n"
                    f"{_log_text(root / 'nginx.stderr')}"
                )
            yield ServerInfo(
                "nginx",
                version,
                base_url,
                large_size,
                server_bound=False,
                tls_base_url=None if cert is None else f"https://127.0.0.1:{tls_port}",
                ca_path=None if cert is None else str(cert.ca),
                tls_missing=tls_missing,
            )
            return
        finally:
            _stop(proc)
    raise ServerUnavailable("nginx could not bind a port after 3 attempts")


def _run_uvicorn(root: Path, large_size: int) -> Iterator[ServerInfo]:
    if importlib.util.find_spec("uvicorn") is None:
        raise ServerUnavailable("neither nginx nor uvicorn is installed")
    version = "uvicorn " + importlib.metadata.version("uvicorn")
    port = _free_port()
    env = dict(os.environ, BENCH_LARGE_SIZE=str(large_size))
    log = (root / "uvicorn.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.fallback_app:app",
            "--app-dir",
            str(Path(__file__).resolve().parent.parent),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--timeout-keep-alive",
            "300",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        if not _wait_ready(proc, base_url):
            log.flush()
            raise ServerUnavailable(f"uvicorn did not start:\n{_log_text(root / 'uvicorn.log')}")
        yield ServerInfo(
            "uvicorn",
            version,
            base_url,
            large_size,
            server_bound=True,
            tls_missing="the uvicorn fallback serves plain HTTP/1.1 only",
        )
    finally:
        _stop(proc)
        log.close()


def _wait_ready(proc: subprocess.Popen[bytes], base_url: str) -> bool:
    deadline = time.monotonic() + _READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        floor = SocketFloor()
        try:
            status, body = floor.get(base_url + "/small")
            if status == 200 and body == SMALL_BODY:
                return True
        except OSError:
            pass
        finally:
            floor.close()
        time.sleep(0.05)
    return False


def _log_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-4000:] or "(empty)"
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop exactly the process this module started."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
