"""The `httpduo` command in-process (click's CliRunner) against the real local servers.

CliRunner's streams are not terminals, so by default the command behaves as when piped;
the `on_terminal` fixture makes it believe stdout and stderr are terminals, to check the
human-readable rendering (the subprocess tests use a real pseudo-terminal).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import pathlib
import socket
from collections.abc import Iterator
from typing import Any, Optional
from urllib.parse import parse_qsl

import pytest
from click.testing import CliRunner, Result

import httpduo
from httpduo._cli import _render
from httpduo._cli._errors import classify
from httpduo._cli.main import cli
from tests.cli.helpers import FOREGROUND_COLOUR, strip_ansi
from tests.servers import raw
from tests.servers.app import (
    BINARY_BODY,
    COMPRESSIBLE_TEXT,
    XML_BODY,
    charset_text,
    iter_pattern,
    pattern_bytes,
)

pytestmark = pytest.mark.network

BASE_ENV: dict[str, Optional[str]] = {
    "TERM": "xterm-256color",
    "NO_COLOR": None,
    "FORCE_COLOR": None,
    "TTY_COMPATIBLE": None,
    "TTY_INTERACTIVE": None,
    "COLUMNS": "100",
    # Requests go straight to the local servers, verified against the default CAs only.
    "SSL_CERT_FILE": None,
    "SSL_CERT_DIR": None,
    **dict.fromkeys(
        ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    ),
}


# click < 8.2 mixes stderr into stdout unless told not to; 8.2 always keeps them apart
# (`result.output` has both) and no longer takes the argument. pyproject allows 8.0.
_CLICK = tuple(int(part) for part in importlib.metadata.version("click").split(".")[:2])
_RUNNER_OPTIONS: dict[str, Any] = {"mix_stderr": False} if _CLICK < (8, 2) else {}


def invoke(
    *args: str, input: Optional[bytes] = None, env: Optional[dict[str, str]] = None
) -> Result:
    runner = CliRunner(**_RUNNER_OPTIONS)
    return runner.invoke(
        cli, list(args), input=input, env={**BASE_ENV, **(env or {})}, catch_exceptions=False
    )


def _resolve_failure() -> httpduo.ConnectError:
    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as exc:
            raise httpduo.ConnectError(f"Failed to resolve 'nowhere.invalid': {exc}") from exc
    except httpduo.ConnectError as error:
        return error


def one_line_error(result: Result) -> str:
    """The command's stderr, checked to be a single line without a traceback."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("httpduo: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def pattern_sha256(size: int) -> str:
    digest = hashlib.sha256()
    for chunk in iter_pattern(size, 1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture
def on_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the command treat its stdout and stderr as terminals."""
    monkeypatch.setattr(_render, "is_terminal", lambda stream: True)


def body_of(terminal_output: str) -> str:
    """What follows the blank line that ends the response head."""
    _head, blank, body = strip_ansi(terminal_output).partition("\n\n")
    assert blank, terminal_output
    return body


# ---- help -------------------------------------------------------------------------------


def test_help_documents_every_option_the_output_rules_and_the_exit_codes() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    text = result.stdout
    for option in (
        "-m, --method",
        "-p, --params",
        "-c, --content",
        "-d, --data",
        "-f, --files",
        "-j, --json",
        "-h, --headers",
        "--cookies",
        "--auth",
        "--digest",
        "--proxy",
        "--timeout",
        "--follow-redirects",
        "--no-verify",
        "--http2",
        "--download",
        "--force",
        "-v, --verbose",
        "--no-color",
        "--fail",
        "--help",
    ):
        assert option in text, option
    assert "not a terminal" in text
    assert "exactly the body bytes" in text
    assert "NO_COLOR" in text
    assert "Exit status" in text
    for code, meaning in (
        ("0", "a response was received"),
        ("3", "invalid URL"),
        ("7", "could not connect"),
        ("22", "--fail"),
        ("23", "could not write the output"),
        ("28", "timed out"),
        ("60", "the server's TLS certificate could not be verified"),
    ):
        assert f"  {code.ljust(5)}{meaning}" in text, code


def test_dash_h_is_headers_not_help() -> None:
    result = invoke("http://127.0.0.1:1/", "-h")
    assert result.exit_code == 2
    assert "requires 2 arguments" in result.stderr


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("httpduo ")


# ---- output when stdout is not a terminal -------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/json", b'{"Hello": "world!"}'),
        ("/binary", BINARY_BODY),
        ("/xml", XML_BODY),
        ("/gzip", COMPRESSIBLE_TEXT),  # Content-Encoding decoded
        ("/bytes/100000", pattern_bytes(100000)),
    ],
)
def test_stdout_gets_exactly_the_body_when_not_a_terminal(
    server: Any, path: str, expected: bytes
) -> None:
    result = invoke(server.url + path)
    assert result.exit_code == 0
    assert result.stdout_bytes == expected
    assert result.stderr_bytes == b""


def test_head_goes_to_stderr_with_verbose_when_not_a_terminal(server: Any) -> None:
    result = invoke(server.url + "/json", "--verbose")
    assert result.exit_code == 0
    assert result.stdout_bytes == b'{"Hello": "world!"}'
    assert "< HTTP/1.1 200 OK" in result.stderr.splitlines()
    assert "< content-type: application/json" in result.stderr.splitlines()


# ---- output on a terminal ---------------------------------------------------------------


def test_json_is_pretty_printed_and_highlighted(server: Any, on_terminal: None) -> None:
    result = invoke(server.url + "/json")
    assert result.exit_code == 0
    lines = strip_ansi(result.stdout).splitlines()
    assert lines[0] == "HTTP/1.1 200 OK"
    assert "content-type: application/json" in lines
    assert "content-length: 19" in lines
    assert body_of(result.stdout) == '{\n    "Hello": "world!"\n}\n'
    assert FOREGROUND_COLOUR.search(result.stdout.partition("\n\n")[2])
    assert FOREGROUND_COLOUR.search(result.stdout.splitlines()[0])  # the status line too


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/html", "<h1>Hello, world!</h1>"),
        ("/xml", "<greeting>Hello, world!</greeting>"),
    ],
)
def test_markup_is_highlighted(server: Any, on_terminal: None, path: str, expected: str) -> None:
    result = invoke(server.url + path)
    assert result.exit_code == 0
    body = result.stdout.partition("\n\n")[2]
    assert expected in strip_ansi(body).replace("\n", "")
    assert FOREGROUND_COLOUR.search(body)


@pytest.mark.parametrize(
    ("path", "summary"),
    [
        ("/binary", "<1,032 bytes of binary data (image/png)>"),
        ("/bytes/2048", "<2,048 bytes of binary data (application/octet-stream)>"),
        ("/stream/300000", "<300,000 bytes of binary data (application/octet-stream)>"),
    ],
)
def test_binary_bodies_are_summarised_not_dumped(
    server: Any, on_terminal: None, path: str, summary: str
) -> None:
    result = invoke(server.url + path)
    assert result.exit_code == 0
    assert body_of(result.stdout) == summary + "\n"
    assert b"\x89PNG" not in result.stdout_bytes


@pytest.mark.parametrize(
    "query",
    ["enc=cp1251", "enc=cp1251&declare=0", "enc=shift_jis", "enc=iso-8859-1", "enc=utf-16"],
)
def test_text_is_decoded_with_its_charset(server: Any, on_terminal: None, query: str) -> None:
    encoding = dict(parse_qsl(query))["enc"]
    result = invoke(f"{server.url}/charset?{query}")
    assert result.exit_code == 0
    assert body_of(result.stdout) == charset_text(encoding) + "\n"


def test_a_long_text_body_streams_as_plain_text(server: Any, on_terminal: None) -> None:
    size = 3 * _render.HIGHLIGHT_LIMIT + 7  # text/plain, gzip-encoded by the server
    result = invoke(f"{server.url}/gzip?size={size}")
    assert result.exit_code == 0
    assert body_of(result.stdout) == pattern_bytes(size).decode() + "\n"


def test_control_characters_from_the_server_are_made_visible(
    raw_server: Any, on_terminal: None
) -> None:
    body = b"\x1b]0;pwned\x07\x1b[2Jhello\r\nworld\x9b"
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=latin-1\r\n"
    server = raw_server(raw.reply(head + b"Content-Length: %d\r\n\r\n" % len(body) + body))
    result = invoke(server.url, env={"NO_COLOR": "1"})
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout
    assert body_of(result.stdout) == "\\x1b]0;pwned\\x07\\x1b[2Jhello\nworld\\x9b\n"


def test_an_empty_body_shows_the_head_only(server: Any, on_terminal: None) -> None:
    result = invoke(server.url + "/status/204")
    assert result.exit_code == 0
    assert strip_ansi(result.stdout).splitlines()[0] == "HTTP/1.1 204 No Content"
    assert "\n\n" not in result.stdout


@pytest.mark.parametrize(
    ("args", "env"),
    [((), {"NO_COLOR": "1"}), (("--no-color",), {}), (("--no-color", "-v"), {})],
)
def test_no_color_means_no_escape_sequences(
    server: Any, on_terminal: None, args: tuple[str, ...], env: dict[str, str]
) -> None:
    result = invoke(server.url + "/json", *args, env=env)
    assert result.exit_code == 0
    assert "\x1b" not in result.output
    assert body_of(result.stdout) == '{\n    "Hello": "world!"\n}\n'


def test_an_empty_no_color_does_not_disable_colours(server: Any, on_terminal: None) -> None:
    result = invoke(server.url + "/json", env={"NO_COLOR": ""})
    assert FOREGROUND_COLOUR.search(result.stdout)


# ---- request options ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "method"),
    [
        ((), "GET"),
        (("-m", "put"), "PUT"),
        (("--method", "DELETE"), "DELETE"),
        (("-c", "x"), "POST"),
        (("-d", "a", "1"), "POST"),
        (("-j", "{}"), "POST"),
        (("-m", "PATCH", "-c", "x"), "PATCH"),
    ],
)
def test_method(server: Any, args: tuple[str, ...], method: str) -> None:
    result = invoke(server.url + "/echo_method", *args)
    assert result.exit_code == 0
    assert result.stdout == method


def test_params(server: Any) -> None:
    result = invoke(
        server.url + "/request_info?x=0", "-p", "a", "1", "--params", "b", "x y", "-p", "a", "2"
    )
    assert result.exit_code == 0
    query = json.loads(result.stdout)["query_string"]
    # Repeated names are grouped, as httpx's QueryParams does.
    assert parse_qsl(query) == [("x", "0"), ("a", "1"), ("a", "2"), ("b", "x y")]


def test_content_text(server: Any) -> None:
    result = invoke(server.url + "/echo_body", "-c", "hello, wörld")
    assert result.stdout_bytes == "hello, wörld".encode()


def test_content_from_a_file_is_sent_with_its_length(server: Any, tmp_path: pathlib.Path) -> None:
    payload = os.urandom(300_000)
    path = tmp_path / "payload.bin"
    path.write_bytes(payload)
    result = invoke(server.url + "/echo_body", "--content", f"@{path}", "-v")
    assert result.exit_code == 0
    assert result.stdout_bytes == payload
    assert "> Content-Length: 300000" in result.stderr.splitlines()


def test_content_from_stdin(server: Any) -> None:
    result = invoke(server.url + "/echo_body", "-c", "-", input=b"from\x00stdin")
    assert result.stdout_bytes == b"from\x00stdin"


def test_form_data(server: Any) -> None:
    result = invoke(
        server.url + "/echo_body", "-d", "a", "1", "--data", "b", "x y", "-d", "a", "2", "-v"
    )
    assert result.exit_code == 0
    assert parse_qsl(result.stdout) == [("a", "1"), ("a", "2"), ("b", "x y")]
    assert "< content-type: application/x-www-form-urlencoded" in result.stderr.splitlines()


def test_files_are_sent_as_multipart(server: Any, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "upload.txt"
    path.write_bytes(b"file contents\n")
    result = invoke(server.url + "/echo_body", "-f", "upload", str(path), "-d", "field", "v")
    assert result.exit_code == 0
    body = result.stdout_bytes
    assert b'name="upload"; filename="upload.txt"' in body
    assert b"file contents\n" in body
    assert b'name="field"\r\n\r\nv\r\n' in body


def test_files_that_do_not_exist_are_a_usage_error(server: Any, tmp_path: pathlib.Path) -> None:
    result = invoke(server.url, "--files", "f", str(tmp_path / "missing"))
    assert result.exit_code == 2
    assert "missing" in result.stderr


@pytest.mark.parametrize("source", ["inline", "file", "stdin"])
def test_json_body(server: Any, tmp_path: pathlib.Path, source: str) -> None:
    document = '{"a": [1, 2], "b": "ü"}'
    stdin = None
    if source == "inline":
        value = document
    elif source == "file":
        (tmp_path / "doc.json").write_text(document, encoding="utf-8")
        value = f"@{tmp_path / 'doc.json'}"
    else:
        value, stdin = "-", document.encode()
    result = invoke(server.url + "/echo_body", "-j", value, "-v", input=stdin)
    assert result.exit_code == 0
    assert json.loads(result.stdout_bytes) == {"a": [1, 2], "b": "ü"}
    assert "< content-type: application/json" in result.stderr.splitlines()


def test_invalid_json_is_a_usage_error(server: Any) -> None:
    result = invoke(server.url, "--json", "{nope")
    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr


def test_headers(server: Any) -> None:
    result = invoke(
        server.url + "/echo_headers", "-h", "X-Test", "one", "--headers", "X-Test", "two"
    )
    pairs = json.loads(result.stdout)
    assert ["x-test", "one"] in pairs
    assert ["x-test", "two"] in pairs


def test_cookies(server: Any) -> None:
    result = invoke(server.url + "/cookies", "--cookies", "a", "1", "--cookies", "b", "2")
    assert json.loads(result.stdout)["cookies"] == {"a": "1", "b": "2"}


def test_basic_auth(server: Any) -> None:
    result = invoke(server.url + "/basic_auth/user/secret", "--auth", "user", "secret")
    assert json.loads(result.stdout) == {"authenticated": True, "user": "user"}


def test_wrong_credentials_are_a_response_not_an_error(server: Any) -> None:
    result = invoke(server.url + "/basic_auth/user/secret", "--auth", "user", "nope")
    assert result.exit_code == 0
    assert result.stdout == "Unauthorized"


def test_auth_password_prompt_is_hidden(server: Any) -> None:
    result = invoke(
        server.url + "/basic_auth/user/s3cr3t", "--auth", "user", "-", input=b"s3cr3t\n"
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"authenticated": True, "user": "user"}
    assert "Password for user" in result.stderr
    assert "s3cr3t" not in result.stderr


def test_digest_auth(server: Any) -> None:
    result = invoke(
        server.url + "/digest_auth/auth/user/secret/MD5",
        "--auth",
        "user",
        "secret",
        "--digest",
        "-v",
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"authenticated": True, "user": "user"}
    stderr = result.stderr.splitlines()
    assert "< HTTP/1.1 401 Unauthorized" in stderr
    assert "* Retrying with credentials (401 Unauthorized)" in stderr
    assert any(line.startswith("> Authorization: Digest ") for line in stderr)


def test_digest_needs_auth(server: Any) -> None:
    result = invoke(server.url, "--digest")
    assert result.exit_code == 2
    assert "--digest needs --auth" in result.stderr


def test_proxy_is_used(server: Any, raw_server: Any) -> None:
    proxy = raw_server(
        raw.reply(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nproxied"), check_errors=False
    )
    result = invoke(server.url + "/json", "--proxy", proxy.url)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "proxied"
    proxy.wait_for_scripts()
    assert proxy.requests[0].startswith(f"GET {server.url}/json HTTP/1.1\r\n".encode())


def test_timeout(server: Any) -> None:
    result = invoke(server.url + "/slow_headers?delay=5", "--timeout", "0.3")
    assert result.exit_code == 28
    assert one_line_error(result).startswith("httpduo: timed out: ")


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_timeout_must_be_a_positive_number(value: str) -> None:
    assert invoke("http://127.0.0.1:1/", "--timeout", value).exit_code == 2


def test_redirects_are_not_followed_by_default(server: Any, on_terminal: None) -> None:
    result = invoke(server.url + "/redirect/2")
    assert result.exit_code == 0
    lines = strip_ansi(result.stdout).splitlines()
    assert lines[0] == "HTTP/1.1 302 Found"
    assert "location: /redirect/1" in lines


def test_follow_redirects(server: Any) -> None:
    result = invoke(server.url + "/redirect/3", "--follow-redirects")
    assert result.exit_code == 0
    assert result.stdout == "Hello, world!"


def test_too_many_redirects(server: Any) -> None:
    result = invoke(server.url + "/redirect/30", "--follow-redirects")
    assert result.exit_code == 47
    assert one_line_error(result).startswith("httpduo: too many redirects: ")


def test_no_verify(tls_server: Any) -> None:
    result = invoke(tls_server.url + "/json", "--no-verify")
    assert result.exit_code == 0
    assert result.stdout == '{"Hello": "world!"}'


def test_tls_verification_failure(tls_server: Any) -> None:
    result = invoke(tls_server.url + "/json")
    assert result.exit_code == 60
    line = one_line_error(result)
    assert line.startswith("httpduo: TLS certificate verification failed: ")
    assert "CERTIFICATE_VERIFY_FAILED" in line


def test_http2_flag_falls_back_to_http11_without_alpn_h2(tls_server: Any) -> None:
    result = invoke(tls_server.url + "/json", "--http2", "--no-verify", "-v")
    assert result.exit_code == 0
    assert result.stdout == '{"Hello": "world!"}'
    assert "< HTTP/1.1 200 OK" in result.stderr.splitlines()


def test_http2_with_a_server_that_speaks_it(h2_server: Any) -> None:
    result = invoke(h2_server.url + "/json", "--http2", "--no-verify", "-v")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == '{"Hello": "world!"}'
    assert "< HTTP/2 200 OK" in result.stderr.splitlines()


def test_fail_on_client_and_server_errors(server: Any) -> None:
    for status in (404, 500):
        result = invoke(f"{server.url}/status/{status}", "--fail")
        assert result.exit_code == 22
        assert result.stdout == ""
        assert str(status) in one_line_error(result)
    assert invoke(f"{server.url}/status/404").exit_code == 0
    assert invoke(f"{server.url}/status/302", "--fail").exit_code == 0


# ---- verbose ------------------------------------------------------------------------------


def test_verbose_shows_request_connection_and_timings(server: Any) -> None:
    result = invoke(server.url + "/json", "--verbose", "-h", "X-Custom", "yes")
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert f"* Connecting to 127.0.0.1:{server.port}" in lines
    assert any(
        line.startswith(f"* Connected to 127.0.0.1:{server.port} from 127.0.0.1:")
        for line in lines
    )
    assert "> GET /json HTTP/1.1" in lines
    assert f"> Host: 127.0.0.1:{server.port}" in lines
    assert "> X-Custom: yes" in lines
    assert lines.index("> GET /json HTTP/1.1") < lines.index("< HTTP/1.1 200 OK")
    timings = lines[-1]
    assert timings.startswith("* Timings: connect ")
    assert "first byte" in timings
    assert "total" in timings


def test_verbose_shows_redirect_hops(server: Any) -> None:
    result = invoke(server.url + "/redirect/2", "--follow-redirects", "-v")
    assert result.stdout == "Hello, world!"
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("> GET ")] == [
        "> GET /redirect/2 HTTP/1.1",
        "> GET /redirect/1 HTTP/1.1",
        "> GET /redirect/0 HTTP/1.1",
    ]
    assert lines.count("< HTTP/1.1 302 Found") == 2
    assert f"* Following redirect (302 Found) to {server.url}/redirect/1" in lines
    assert f"* Following redirect (302 Found) to {server.url}/redirect/0" in lines
    assert "* Re-using an existing connection" in lines
    assert lines.count("< HTTP/1.1 200 OK") == 1


def test_verbose_tls_details_without_verification(tls_server: Any) -> None:
    result = invoke(tls_server.url + "/json", "--no-verify", "-v")
    assert result.exit_code == 0
    text = result.stderr
    assert "* TLS handshake with 127.0.0.1" in text
    established = next(line for line in text.splitlines() if "TLS established" in line)
    assert "TLSv1." in established
    assert "-bit)" in established  # the cipher and its strength
    assert "ALPN not negotiated" in established
    assert "*   subject: O=trustme" in text
    assert "*   issuer: O=trustme" in text
    assert "Testing CA" in text
    assert "*   valid: 2000-01-01 00:00:00 UTC to 3000-01-01 00:00:00 UTC" in text
    assert "DNS:localhost" in text
    assert "IP:127.0.0.1" in text
    assert "*   verified: NO (--no-verify)" in text
    assert "TLS " in text.splitlines()[-1]  # the TLS time is part of the timings


# ---- downloads ----------------------------------------------------------------------------


def leftovers(directory: pathlib.Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if path.name.endswith(".part"))


@pytest.mark.parametrize("path", ["/large?size=3000017", "/stream/3000017?chunk=65536"])
def test_download_saves_the_exact_body(server: Any, tmp_path: pathlib.Path, path: str) -> None:
    target = tmp_path / "out.bin"
    result = invoke(server.url + path, "--download", str(target))
    assert result.exit_code == 0
    assert result.stdout_bytes == b""
    assert hashlib.sha256(target.read_bytes()).hexdigest() == pattern_sha256(3000017)
    assert result.stderr == f"Saved 3,000,017 bytes to {target}\n"
    assert leftovers(tmp_path) == []


def test_download_refuses_to_overwrite(server: Any, tmp_path: pathlib.Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"precious")
    result = invoke(server.url + "/bytes/10", "--download", str(target))
    assert result.exit_code == 23
    assert (
        one_line_error(result) == f"httpduo: {target} already exists; use --force to overwrite it"
    )
    assert target.read_bytes() == b"precious"


def test_download_force_overwrites(server: Any, tmp_path: pathlib.Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old contents that are longer than the new ones")
    result = invoke(server.url + "/bytes/10", "--download", str(target), "--force")
    assert result.exit_code == 0
    assert target.read_bytes() == pattern_bytes(10)
    assert leftovers(tmp_path) == []


def test_download_into_a_directory_is_refused(server: Any, tmp_path: pathlib.Path) -> None:
    result = invoke(server.url + "/bytes/10", "--download", str(tmp_path), "--force")
    assert result.exit_code == 2
    assert "is a directory" in result.stderr


def test_a_failed_download_leaves_nothing_behind(raw_server: Any, tmp_path: pathlib.Path) -> None:
    server = raw_server(raw.truncated_body)
    target = tmp_path / "out.bin"
    result = invoke(server.url, "--download", str(target))
    assert result.exit_code == 56
    one_line_error(result)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_forced_download_keeps_the_old_file(
    raw_server: Any, tmp_path: pathlib.Path
) -> None:
    server = raw_server(raw.truncated_body)
    target = tmp_path / "out.bin"
    target.write_bytes(b"precious")
    result = invoke(server.url, "--download", str(target), "--force")
    assert result.exit_code == 56
    assert target.read_bytes() == b"precious"
    assert leftovers(tmp_path) == []


def test_download_with_fail_saves_nothing_on_errors(server: Any, tmp_path: pathlib.Path) -> None:
    target = tmp_path / "out.bin"
    result = invoke(server.url + "/status/404", "--download", str(target), "--fail")
    assert result.exit_code == 22
    assert list(tmp_path.iterdir()) == []


def test_download_on_a_terminal_shows_head_and_progress(
    server: Any, tmp_path: pathlib.Path, on_terminal: None
) -> None:
    target = tmp_path / "out.bin"
    result = invoke(server.url + "/large?size=2000000", "--download", str(target))
    assert result.exit_code == 0
    assert strip_ansi(result.stdout).splitlines()[0] == "HTTP/1.1 200 OK"
    progress = strip_ansi(result.stderr)
    assert "out.bin" in progress
    assert "━" in progress  # the bar
    assert "2.0/2.0 MB" in progress
    assert f"Saved 2,000,000 bytes to {target}" in progress
    assert target.stat().st_size == 2_000_000


# ---- errors ---------------------------------------------------------------------------------


def test_connection_refused(unused_port: int) -> None:
    result = invoke(f"http://127.0.0.1:{unused_port}/")
    assert result.exit_code == 7
    line = one_line_error(result)
    assert line.startswith("httpduo: could not connect: ")
    assert "refused" in line.lower()


@pytest.mark.parametrize(
    ("url", "code", "start"),
    [
        ("http://[invalid/", 3, "httpduo: invalid URL: "),
        ("http://127.0.0.1:99999/", 3, "httpduo: invalid URL: "),
        ("example.com/path", 1, "httpduo: unsupported protocol: "),
        ("ftp://127.0.0.1/", 1, "httpduo: unsupported protocol: "),
    ],
)
def test_unusable_urls(url: str, code: int, start: str) -> None:
    result = invoke(url)
    assert result.exit_code == code
    assert one_line_error(result).startswith(start)


@pytest.mark.parametrize("script", [raw.invalid_status_line, raw.reset_mid_headers])
def test_broken_responses(raw_server: Any, script: Any) -> None:
    server = raw_server(script)
    result = invoke(server.url)
    assert result.exit_code == 56
    one_line_error(result)


@pytest.mark.parametrize(
    "args",
    [
        ("-c", "x", "-j", "{}"),
        ("-j", "{}", "-d", "a", "b"),
        ("-c", "@/nonexistent/file"),
        ("-j", "@/nonexistent/file"),
        ("--method",),
    ],
)
def test_usage_errors(args: tuple[str, ...]) -> None:
    result = invoke("http://127.0.0.1:1/", *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_interrupt_is_a_one_line_error(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> Iterator[bytes]:
        raise KeyboardInterrupt

    monkeypatch.setattr("httpduo._cli.main.write_raw", interrupted)
    result = invoke(server.url + "/json")
    assert result.exit_code == 130
    assert one_line_error(result) == "httpduo: interrupted"


def test_tls_handshake_failure(server: Any) -> None:
    # https:// to a plain-HTTP server: the handshake fails before any certificate.
    result = invoke(f"https://127.0.0.1:{server.port}/json")
    assert result.exit_code == 35
    assert one_line_error(result).startswith("httpduo: TLS handshake failed: ")


def test_undecodable_body(raw_server: Any) -> None:
    body = b"this is not gzip data"
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body)
    server = raw_server(raw.reply(head + body))
    result = invoke(server.url)
    assert result.exit_code == 61
    assert one_line_error(result).startswith("httpduo: could not decode the response body: ")


@pytest.mark.parametrize(
    ("error", "code", "start"),
    [
        (_resolve_failure(), 6, "could not resolve host: "),
        (httpduo.ProxyError("CONNECT refused: 403"), 97, "proxy error: "),
        (httpduo.WriteError("broken"), 56, "connection failed while talking to the server: "),
        (NotImplementedError("no HTTP/3\nyet"), 1, "not supported: no HTTP/3 yet"),
        (ImportError("h2 is missing"), 1, "not supported: h2 is missing"),
    ],
)
def test_failures_without_a_local_reproduction(
    error: BaseException, code: int, start: str
) -> None:
    # Name resolution and proxies cannot be exercised against loopback-only servers.
    failure = classify(error)
    assert failure.code == code
    assert failure.message.startswith(start)
    assert "\n" not in failure.message
