"""The HTTP test servers and the app's endpoints work, checked with the stdlib only.

Every socket operation here carries a timeout, so a broken server fails, never hangs.
The raw fault server is checked in test_raw.py.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import re
import select
import socket
import ssl
import struct
import zlib
from contextlib import closing
from typing import Iterator

import pytest

from tests.missing import import_or_missing
from tests.servers.app import (
    BINARY_BODY,
    COMPRESSIBLE_TEXT,
    HTML_BODY,
    charset_text,
    pattern_bytes,
)
from tests.servers.certs import client_context
from tests.servers.hypercorn_server import HypercornServer
from tests.servers.stdlib_client import (
    GET_ROOT,
    TIMEOUT,
    Result,
    UnixHTTPConnection,
    get,
    request,
)
from tests.servers.uvicorn_server import UvicornServer

pytestmark = pytest.mark.network

# ------------------------------------------------------------------- the application


def test_root(server: UvicornServer) -> None:
    result = get(server, "/")
    assert (result.status, result.body) == (200, b"Hello, world!")
    assert result.header("content-type") == "text/plain"
    assert server.url == f"http://127.0.0.1:{server.port}"


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PATCH"])
def test_echo_method(server: UvicornServer, method: str) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    with closing(conn):
        assert request(conn, method, "/echo_method").body == method.encode()


def test_request_info(server: UvicornServer) -> None:
    info = get(server, "/request_info?a=1&b=%20").json()
    assert isinstance(info, dict)
    assert info["http_version"] == "1.1"
    assert info["query_string"] == "a=1&b=%20"
    assert info["path"] == "/request_info"


def test_echo_headers_keeps_order_and_repeats(server: UvicornServer) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    with closing(conn):
        conn.putrequest("GET", "/echo_headers", skip_accept_encoding=True)
        for name, value in [("X-A", "1"), ("X-B", "2"), ("X-A", "3")]:
            conn.putheader(name, value)
        conn.endheaders()
        pairs = Result(conn.getresponse()).json()
    assert isinstance(pairs, list)
    assert [p for p in pairs if p[0].startswith("x-")] == [
        ["x-a", "1"],
        ["x-b", "2"],
        ["x-a", "3"],
    ]


def _chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    block = bytes(range(256)) * (size // 256)
    sent = 0
    while sent < total:
        piece = block[: min(size, total - sent)]
        sent += len(piece)
        yield piece


def test_echo_body_50_mb(server: UvicornServer) -> None:
    total = 50 * 1024 * 1024
    expected = hashlib.sha256()
    for piece in _chunks(total):
        expected.update(piece)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    with closing(conn):
        headers = {"Content-Length": str(total), "Content-Type": "application/x-test"}
        conn.request("POST", "/echo_body", body=_chunks(total), headers=headers)
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("content-type") == "application/x-test"
        assert response.getheader("content-length") == str(total)
        got = hashlib.sha256()
        length = 0
        while chunk := response.read(1 << 20):
            got.update(chunk)
            length += len(chunk)
    assert (length, got.hexdigest()) == (total, expected.hexdigest())


def test_echo_body_hash_chunked_upload(server: UvicornServer) -> None:
    total = 3 * 1024 * 1024 + 7
    expected = hashlib.sha256(b"".join(_chunks(total))).hexdigest()
    conn = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    with closing(conn):
        conn.request("POST", "/echo_body_hash", body=_chunks(total), encode_chunked=True)
        assert Result(conn.getresponse()).json() == {"sha256": expected, "length": total}


def test_json_and_status(server: UvicornServer) -> None:
    result = get(server, "/json")
    assert result.header("content-type") == "application/json"
    assert result.json() == {"Hello": "world!"}
    assert (get(server, "/status/418").status, get(server, "/status/418").body) == (
        418,
        b"418 I'm a Teapot",
    )
    no_content = get(server, "/status/204")
    assert (no_content.status, no_content.body) == (204, b"")
    assert get(server, "/nowhere").status == 404


def test_bytes_have_content_length(server: UvicornServer) -> None:
    result = get(server, "/bytes/12345")
    assert result.body == pattern_bytes(12345)
    assert result.body[:12] == b"012345678901"
    assert result.header("content-length") == "12345"


def test_stream_is_chunked(server: UvicornServer) -> None:
    result = get(server, "/stream/10000?chunk=999")
    assert result.body == pattern_bytes(10000)
    assert result.header("content-length") is None
    assert result.header("transfer-encoding") == "chunked"


def test_large(server: UvicornServer) -> None:
    size = 5 * 65536 + 3
    result = get(server, f"/large?size={size}")
    assert result.header("content-length") == str(size)
    expected = hashlib.sha256((b"0123456789" * (size // 10 + 1))[:size]).hexdigest()
    assert hashlib.sha256(result.body).hexdigest() == expected


def test_slow_body_sends_headers_first(server: UvicornServer) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    with closing(conn):
        conn.request("GET", "/slow_body?delay=1")
        response = conn.getresponse()
        assert response.status == 200
        assert conn.sock is not None
        readable, _, _ = select.select([conn.sock], [], [], 0.2)
        assert not readable, "the body arrived before the delay"
        assert response.read() == b"slow body"


def test_slow_headers(server: UvicornServer) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=0.2)
    with closing(conn):
        conn.request("GET", "/slow_headers?delay=1")
        with pytest.raises(socket.timeout):
            conn.getresponse()


def _decompress(name: str, data: bytes) -> bytes:
    if name == "gzip":
        return gzip.decompress(data)
    if name == "deflate":
        return zlib.decompress(data)
    if name == "br":
        brotli = import_or_missing("brotli")
        return bytes(brotli.decompress(data))
    zstandard = import_or_missing("zstandard")
    return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(data))


@pytest.mark.parametrize(
    ("path", "encoding"),
    [("/gzip", "gzip"), ("/deflate", "deflate"), ("/brotli", "br"), ("/zstd", "zstd")],
)
def test_compressed(server: UvicornServer, path: str, encoding: str) -> None:
    result = get(server, path)
    assert result.header("content-encoding") == encoding
    assert len(result.body) < len(COMPRESSIBLE_TEXT)
    assert _decompress(encoding, result.body) == COMPRESSIBLE_TEXT
    sized = get(server, path + "?size=100000")
    assert _decompress(encoding, sized.body) == pattern_bytes(100000)


def test_raw_deflate(server: UvicornServer) -> None:
    body = get(server, "/deflate?raw=1").body
    assert zlib.decompress(body, -zlib.MAX_WBITS) == COMPRESSIBLE_TEXT


def test_redirects(server: UvicornServer) -> None:
    first = get(server, "/redirect/2")
    assert (first.status, first.header("location")) == (302, "/redirect/1")
    assert get(server, "/redirect/0").status == 200
    to = get(server, "/redirect_to?url=http%3A%2F%2F127.0.0.1%2Fx%3Fy%3D1&status=307")
    assert (to.status, to.header("location")) == (307, "http://127.0.0.1/x?y=1")
    assert get(server, "/relative_redirect").header("location") == "json"
    assert get(server, "/absolute_redirect").header("location") == server.url + "/json"


def test_cookies(server: UvicornServer) -> None:
    result = get(server, "/cookies/set?a=1&b=two")
    set_cookies = [v for k, v in result.headers if k.lower() == "set-cookie"]
    assert set_cookies == ["a=1; Path=/", "b=two; Path=/"]
    assert get(server, "/cookies").json() == {"cookie": None, "cookies": {}}
    echoed = get(server, "/cookies", headers={"Cookie": "a=1; b=two"}).json()
    assert echoed == {"cookie": "a=1; b=two", "cookies": {"a": "1", "b": "two"}}


def test_basic_auth(server: UvicornServer) -> None:
    denied = get(server, "/basic_auth/user/pass")
    assert denied.status == 401
    assert (denied.header("www-authenticate") or "").startswith("Basic ")
    wrong = "Basic " + base64.b64encode(b"user:nope").decode()
    assert get(server, "/basic_auth/user/pass", {"Authorization": wrong}).status == 401
    right = "Basic " + base64.b64encode(b"user:pass").decode()
    accepted = get(server, "/basic_auth/user/pass", {"Authorization": right})
    assert accepted.status == 200
    assert accepted.json() == {"authenticated": True, "user": "user"}


# Written from RFC 7616 section 3.4.1, independently of tests/servers/digest.py.
_CHALLENGE_PARAM = re.compile(r'(\w[\w-]*)=(?:"([^"]*)"|([^\s,]+))')
_HASHES = {"MD5": "md5", "SHA": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}
_HASHES["SHA-512-256"] = "sha512_256"


def _digest_authorization(
    challenge: str, method: str, uri: str, user: str, password: str, body: bytes = b""
) -> str:
    assert challenge.startswith("Digest ")
    params = {m[0].lower(): m[1] or m[2] for m in _CHALLENGE_PARAM.findall(challenge)}
    algorithm = params.get("algorithm", "MD5")
    sess = algorithm.upper().endswith("-SESS")
    name = _HASHES[algorithm.upper()[:-5] if sess else algorithm.upper()]

    def h(text: str) -> str:
        return hashlib.new(name, text.encode()).hexdigest()

    nonce, realm = params["nonce"], params["realm"]
    cnonce, nc = "f2a3c0ffee", "00000001"
    ha1 = h(f"{user}:{realm}:{password}")
    if sess:
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    qop = params["qop"].split(",")[0] if "qop" in params else None
    a2 = f"{method}:{uri}"
    if qop == "auth-int":
        a2 += ":" + hashlib.new(name, body).hexdigest()
    if qop is None:
        response = h(f"{ha1}:{nonce}:{h(a2)}")
    else:
        response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{h(a2)}")
    fields = [
        f'username="{user}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        f'response="{response}"',
        f'opaque="{params["opaque"]}"',
        f"algorithm={algorithm}",
    ]
    if qop is not None:
        fields += [f"qop={qop}", f"nc={nc}", f'cnonce="{cnonce}"']
    return "Digest " + ", ".join(fields)


def _has_sha512_256() -> bool:
    try:
        hashlib.new("sha512_256")
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("qop", "algorithm"),
    [
        ("auth", "MD5"),
        ("auth", "MD5-sess"),
        ("auth", "SHA-256"),
        ("auth", "SHA-256-sess"),
        ("auth", "SHA"),
        ("auth", "SHA-512"),
        pytest.param(
            "auth",
            "SHA-512-256",
            marks=pytest.mark.skipif(not _has_sha512_256(), reason="no sha512_256 in hashlib"),
        ),
        ("auth-int", "SHA-256"),
        ("none", "MD5"),
    ],
)
def test_digest_auth(server: UvicornServer, qop: str, algorithm: str) -> None:
    path = f"/digest_auth/{qop}/user/pass/{algorithm}?x=1"
    conn = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    with closing(conn):
        first = request(conn, "POST", path, body=b"payload")
        assert first.status == 401
        challenge = first.header("www-authenticate") or ""
        assert f"algorithm={algorithm}" in challenge

        wrong = _digest_authorization(challenge, "POST", path, "user", "wrong", b"payload")
        rejected = request(conn, "POST", path, b"payload", {"Authorization": wrong})
        assert rejected.status == 401
        assert rejected.header("x-digest-failure") == "response mismatch"

        right = _digest_authorization(challenge, "POST", path, "user", "pass", b"payload")
        accepted = request(conn, "POST", path, b"payload", {"Authorization": right})
        assert (accepted.status, accepted.json()) == (200, {"authenticated": True, "user": "user"})

        elsewhere = right.replace(f'uri="{path}"', 'uri="/other"')
        assert request(conn, "POST", path, b"payload", {"Authorization": elsewhere}).status == 401


def test_digest_auth_rejects_unknown_nonce(server: UvicornServer) -> None:
    path = "/digest_auth/auth/user/pass/MD5"
    challenge = get(server, path).header("www-authenticate") or ""
    forged = re.sub(r'nonce="[^"]*"', 'nonce="00112233"', challenge)
    authorization = _digest_authorization(forged, "GET", path, "user", "pass")
    result = get(server, path, {"Authorization": authorization})
    assert (result.status, result.header("x-digest-failure")) == (401, "unknown nonce")


def test_connection_id_tracks_connections(server: UvicornServer) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    with closing(conn):
        first = request(conn, "GET", "/connection_id").json()
        second = request(conn, "GET", "/connection_id").json()
    assert first == second
    assert isinstance(first, dict)
    assert first["client"][0] == "127.0.0.1"
    assert get(server, "/connection_id").json() != first


def test_headers_size(server: UvicornServer) -> None:
    result = get(server, "/headers_size?n=20000")
    filler = [v for k, v in result.headers if k.lower().startswith("x-filler-")]
    assert sum(len(v) for v in filler) == 20000


@pytest.mark.parametrize("encoding", ["cp1251", "shift_jis", "latin-1", "utf-8"])
def test_charset(server: UvicornServer, encoding: str) -> None:
    declared = get(server, f"/charset?enc={encoding}")
    assert declared.header("content-type") == f"text/plain; charset={encoding}"
    assert declared.body.decode(encoding) == charset_text(encoding)
    bare = get(server, f"/charset?enc={encoding}&declare=0")
    assert bare.header("content-type") == "text/plain"
    assert bare.body == declared.body
    if encoding == "cp1251":
        assert bare.body.decode("cp1251").startswith("Привет")


def test_html_xml_binary(server: UvicornServer) -> None:
    html = get(server, "/html")
    assert (html.header("content-type"), html.body) == ("text/html; charset=utf-8", HTML_BODY)
    assert get(server, "/xml").header("content-type") == "application/xml"
    binary = get(server, "/binary")
    assert binary.header("content-type") == "image/png"
    assert binary.body == BINARY_BODY
    assert binary.body.startswith(b"\x89PNG")
    with pytest.raises(UnicodeDecodeError):
        binary.body.decode("utf-8")


# ------------------------------------------------------------------- server flavours


def test_short_keepalive_server_closes_idle_connections(
    server_short_keepalive: UvicornServer,
) -> None:
    address = (server_short_keepalive.host, server_short_keepalive.port)
    with socket.create_connection(address, timeout=TIMEOUT) as sock:
        sock.sendall(GET_ROOT)
        received = b""
        while not received.endswith(b"Hello, world!"):
            received += sock.recv(65536)
        assert b"HTTP/1.1 200" in received
        assert sock.recv(1) == b"", "the idle connection was not closed"


def test_tls_server(tls_server: UvicornServer, ca_cert_path: str) -> None:
    assert tls_server.url.startswith("https://127.0.0.1:")
    context = client_context(ca_cert_path)
    conn = http.client.HTTPSConnection(
        tls_server.host, tls_server.port, context=context, timeout=TIMEOUT
    )
    with closing(conn):
        assert request(conn, "GET", "/").body == b"Hello, world!"
        info = request(conn, "GET", "/request_info").json()
        assert isinstance(info, dict)
        assert info["scheme"] == "https"


def test_tls_server_certificate_names(tls_server: UvicornServer, ca_cert_path: str) -> None:
    context = ssl.create_default_context(cafile=ca_cert_path)
    address = (tls_server.host, tls_server.port)
    # wrap_socket owns the TCP socket from here on and closes it, even on failure.
    raw = socket.create_connection(address, timeout=TIMEOUT)
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        assert tls.version() is not None
    raw = socket.create_connection(address, timeout=TIMEOUT)
    with pytest.raises(ssl.SSLCertVerificationError):
        context.wrap_socket(raw, server_hostname="example.com")


def test_tls_server_rejected_without_the_ca(tls_server: UvicornServer) -> None:
    context = ssl.create_default_context(cafile=None, capath=None, cadata=None)
    context.load_verify_locations(cadata=_unrelated_ca_pem())
    address = (tls_server.host, tls_server.port)
    raw = socket.create_connection(address, timeout=TIMEOUT)
    with pytest.raises(ssl.SSLCertVerificationError):
        context.wrap_socket(raw, server_hostname="localhost")


def _unrelated_ca_pem() -> str:
    trustme = import_or_missing("trustme")
    return str(trustme.CA().cert_pem.bytes().decode())


def test_uds_server(uds_server: UvicornServer) -> None:
    assert uds_server.uds is not None
    assert uds_server.url == "http://localhost"
    conn = UnixHTTPConnection(uds_server.uds)
    with closing(conn):
        assert request(conn, "GET", "/").body == b"Hello, world!"


def test_ipv6_server(ipv6_server: UvicornServer) -> None:
    assert ipv6_server.url == f"http://[::1]:{ipv6_server.port}"
    conn = http.client.HTTPConnection("::1", ipv6_server.port, timeout=TIMEOUT)
    with closing(conn):
        info = request(conn, "GET", "/connection_id").json()
    assert isinstance(info, dict)
    assert info["client"][0] == "::1"


def test_h2_server_negotiates_h2(h2_server: HypercornServer, ca_cert_path: str) -> None:
    context = client_context(ca_cert_path, alpn=["h2", "http/1.1"])
    address = (h2_server.host, h2_server.port)
    raw = socket.create_connection(address, timeout=TIMEOUT)
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        assert tls.selected_alpn_protocol() == "h2"


def test_h2_server_still_speaks_http11(h2_server: HypercornServer, ca_cert_path: str) -> None:
    context = client_context(ca_cert_path, alpn=["http/1.1"])
    conn = http.client.HTTPSConnection(
        h2_server.host, h2_server.port, context=context, timeout=TIMEOUT
    )
    with closing(conn):
        assert request(conn, "GET", "/bytes/100").body == pattern_bytes(100)


_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_EMPTY_SETTINGS = struct.pack(">I", 0)[1:] + bytes([0x4, 0x0]) + struct.pack(">I", 0)


def test_h2c_server_prior_knowledge(h2c_server: HypercornServer) -> None:
    with socket.create_connection((h2c_server.host, h2c_server.port), timeout=TIMEOUT) as sock:
        sock.sendall(_PREFACE + _EMPTY_SETTINGS)
        header = b""
        while len(header) < 9:
            chunk = sock.recv(9 - len(header))
            assert chunk, "connection closed before the server's SETTINGS frame"
            header += chunk
    frame_type, stream_id = header[3], struct.unpack(">I", header[5:9])[0]
    assert (frame_type, stream_id) == (0x4, 0), "expected a SETTINGS frame on stream 0"


def test_h2c_server_http11(h2c_server: HypercornServer) -> None:
    conn = http.client.HTTPConnection(h2c_server.host, h2c_server.port, timeout=TIMEOUT)
    with closing(conn):
        assert request(conn, "GET", "/").body == b"Hello, world!"


def test_stopped_server_refuses_connections() -> None:
    server = UvicornServer()
    server.start()
    address = (server.host, server.port)
    with socket.create_connection(address, timeout=TIMEOUT):
        pass
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=TIMEOUT)


def test_servers_refuse_non_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="loopback"):
        UvicornServer(host="0.0.0.0")
