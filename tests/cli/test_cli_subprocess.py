"""`python -m httpduo` as a real process: pipes, files, a pseudo-terminal, signals and
memory, against the real local servers. Every run is bounded in time.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import pathlib
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

import httpduo
from tests.cli.helpers import (
    FOREGROUND_COLOUR,
    clean_env,
    command,
    peak_rss_mib,
    run_cli,
    run_in_terminal,
    strip_ansi,
)
from tests.servers.app import BINARY_BODY, iter_pattern

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty, wait4 and /proc"),
]

HUNDRED_MB = 100 * 1000 * 1000


def pattern_sha256(size: int) -> str:
    digest = hashlib.sha256()
    for chunk in iter_pattern(size, 1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def assert_one_line_error(stderr: bytes) -> str:
    text = stderr.decode()
    assert "Traceback" not in text
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("httpduo: ")
    return lines[0]


# ---- pipes and files --------------------------------------------------------------------


def test_a_pipe_gets_exactly_the_body(server: Any) -> None:
    result = run_cli(server.url + "/binary")
    assert result.returncode == 0
    assert result.stdout == BINARY_BODY
    assert result.stderr == b""


def test_redirecting_stdout_to_a_file_saves_the_body(server: Any, tmp_path: pathlib.Path) -> None:
    target = tmp_path / "body.json"
    with target.open("wb") as file:
        result = subprocess.run(
            command(server.url + "/json"),
            stdout=file,
            stderr=subprocess.PIPE,
            env=clean_env(),
            timeout=60,
            check=False,
        )
    assert result.returncode == 0
    assert target.read_bytes() == b'{"Hello": "world!"}'
    assert result.stderr == b""


@pytest.mark.parametrize("option", ["-c", "-j"])
def test_a_body_piped_on_stdin(server: Any, option: str) -> None:
    document = b'{"piped": true}'
    result = run_cli(server.url + "/echo_body", option, "-", input=document)
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"piped": True}


def test_a_body_from_a_file(server: Any, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "body.bin"
    path.write_bytes(bytes(range(256)) * 1000)
    result = run_cli(server.url + "/echo_body", "-c", f"@{path}")
    assert result.returncode == 0
    assert result.stdout == bytes(range(256)) * 1000


def test_the_reader_going_away_is_not_an_error_report(server: Any) -> None:
    process = subprocess.Popen(
        command(server.url + f"/large?size={50 * 1000 * 1000}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        assert process.stdout.read(100) == b"0123456789" * 10
        process.stdout.close()  # like `| head -c 100`
        code = process.wait(timeout=60)
        stderr = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.stderr.close()
    assert code == 23
    assert stderr == b""


# ---- exit statuses -----------------------------------------------------------------------


def test_connection_refused(unused_port: int) -> None:
    result = run_cli(f"http://127.0.0.1:{unused_port}/json")
    assert result.returncode == 7
    assert "refused" in assert_one_line_error(result.stderr).lower()


def test_timeout(server: Any) -> None:
    started = time.monotonic()
    result = run_cli(server.url + "/slow_headers?delay=10", "--timeout", "0.5")
    assert result.returncode == 28
    assert time.monotonic() - started < 8
    assert assert_one_line_error(result.stderr).startswith("httpduo: timed out: ")


def test_invalid_url() -> None:
    result = run_cli("http://[::1/")
    assert result.returncode == 3
    assert assert_one_line_error(result.stderr).startswith("httpduo: invalid URL: ")


def test_tls_verification_failure(tls_server: Any) -> None:
    result = run_cli(tls_server.url + "/json")
    assert result.returncode == 60
    assert "certificate verif" in assert_one_line_error(result.stderr)


def test_fail(server: Any) -> None:
    result = run_cli(server.url + "/status/503", "--fail")
    assert result.returncode == 22
    assert result.stdout == b""
    assert "503 Service Unavailable" in assert_one_line_error(result.stderr)


def test_usage_error() -> None:
    result = run_cli("http://127.0.0.1:1/", "--no-such-option")
    assert result.returncode == 2
    assert b"No such option" in result.stderr


# ---- verbose TLS, verified against the test CA ----------------------------------------------


def test_verbose_tls_details_with_a_trusted_ca(tls_server: Any, ca_cert_path: str) -> None:
    result = run_cli(tls_server.url + "/json", "-v", env=clean_env(SSL_CERT_FILE=ca_cert_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b'{"Hello": "world!"}'
    lines = result.stderr.decode().splitlines()
    established = next(line for line in lines if line.startswith("* TLS established in "))
    assert "TLSv1." in established
    assert "cipher " in established
    assert "ALPN not negotiated" in established
    assert any(line.startswith("*   subject: O=trustme") for line in lines)
    assert any(line.startswith("*   issuer: O=trustme") and "Testing CA" in line for line in lines)
    assert "*   valid: 2000-01-01 00:00:00 UTC to 3000-01-01 00:00:00 UTC" in lines
    assert any(line.startswith("*   alt names: DNS:localhost") for line in lines)
    assert "*   verified: yes" in lines
    assert "> GET /json HTTP/1.1" in lines
    assert "< HTTP/1.1 200 OK" in lines
    assert lines[-1].startswith("* Timings: connect ")
    assert " TLS " in lines[-1]


# ---- a real terminal -------------------------------------------------------------------------


def test_terminal_output_is_coloured_and_pretty(server: Any) -> None:
    run = run_in_terminal(command(server.url + "/json"), stderr_on_terminal=False)
    assert run.code == 0
    assert run.stderr == ""
    assert FOREGROUND_COLOUR.search(run.terminal)
    lines = strip_ansi(run.terminal).replace("\r\n", "\n").split("\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    assert "content-type: application/json" in lines
    body = lines[lines.index("") + 1 :]
    assert body[:3] == ["{", '    "Hello": "world!"', "}"]


@pytest.mark.parametrize(("args", "env"), [((), {"NO_COLOR": "1"}), (("--no-color",), {})])
def test_terminal_without_colour(server: Any, args: tuple[str, ...], env: dict[str, str]) -> None:
    run = run_in_terminal(command(server.url + "/json", "-v", *args), env=clean_env(**env))
    assert run.code == 0
    assert "\x1b" not in run.terminal
    assert '    "Hello": "world!"' in run.terminal


def test_terminal_binary_body_is_summarised(server: Any) -> None:
    run = run_in_terminal(command(server.url + "/binary"))
    assert run.code == 0
    assert "<1,032 bytes of binary data (image/png)>" in strip_ansi(run.terminal)
    assert "PNG" not in run.terminal


@pytest.mark.parametrize(
    ("path", "size", "known_length"),
    [
        ("/large?size=20000000", 20_000_000, True),
        # No Content-Length: an indeterminate bar. Paced over about a second so that
        # frames drawn mid-transfer are seen.
        ("/stream/3000000?chunk=65536&delay=0.02", 3_000_000, False),
    ],
)
def test_terminal_download_shows_a_progress_bar(
    server: Any, tmp_path: pathlib.Path, path: str, size: int, known_length: bool
) -> None:
    target = tmp_path / "download.bin"
    run = run_in_terminal(command(server.url + path, "--download", str(target)))
    assert run.code == 0
    screen = strip_ansi(run.terminal)
    assert screen.startswith("HTTP/1.1 200 OK")
    bars, saved, _ = screen.partition(f"Saved {size:,} bytes to {target}")
    assert saved
    final = bars[bars.rindex("download.bin") :]  # the last frame drawn
    megabytes = f"{size / 1e6:.1f}"
    assert "━" in final
    assert f"{megabytes}/{megabytes} MB" in final
    assert "B/s" in final  # the average rate
    assert "0:00:00" in final  # nothing left
    if not known_length:
        assert "/? MB" in bars  # mid-transfer frames with an unknown total
    assert file_sha256(target) == pattern_sha256(size)


# ---- memory, signals, packaging ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["download", "stdout"])
def test_a_100_mb_body_keeps_memory_flat(server: Any, tmp_path: pathlib.Path, mode: str) -> None:
    target = tmp_path / "big.bin"
    args = command(f"{server.url}/large?size={HUNDRED_MB}")
    if mode == "download":
        args += ["--download", str(target)]
    # Otherwise the body goes to stdout, which peak_rss_mib points at /dev/null.
    code, peak_mib, stderr = peak_rss_mib(args, env=clean_env(), timeout=120)
    assert code == 0, stderr
    assert peak_mib < 80, f"peak RSS {peak_mib:.1f} MiB"
    if mode == "download":
        assert target.stat().st_size == HUNDRED_MB
        assert file_sha256(target) == pattern_sha256(HUNDRED_MB)


def test_ctrl_c_during_a_download_leaves_no_partial_file(
    server: Any, tmp_path: pathlib.Path
) -> None:
    target = tmp_path / "slow.bin"
    process = subprocess.Popen(
        command(f"{server.url}/stream/600000?chunk=10000&delay=0.02", "--download", str(target)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    assert process.stderr is not None
    try:
        deadline = time.monotonic() + 30
        while not any(path.name.endswith(".part") for path in tmp_path.iterdir()):
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "the download never started"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
        stderr = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.stderr.close()
    assert code == 130
    assert assert_one_line_error(stderr) == "httpduo: interrupted"
    assert list(tmp_path.iterdir()) == []


def test_importing_the_main_module_does_not_load_the_cli() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, httpduo, httpduo.__main__; "
            "print(sorted(m for m in ('click', 'rich') if m in sys.modules))",
        ],
        capture_output=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == "[]"


def run_python(script: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )


def test_httpduo_main_is_the_command_loaded_on_first_use() -> None:
    # httpx.main's twin: a click command, callable as a program's entry point.
    script = (
        "import sys, httpduo\n"
        "before = sorted(m for m in ('click', 'rich') if m in sys.modules)\n"
        "command = httpduo.main\n"
        "print(before, type(command).__name__, command is httpduo.main, flush=True)\n"
        "sys.argv = ['httpduo', '--version']\n"
        "httpduo.main()\n"
    )
    result = run_python(script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == [
        "[] Command True",
        f"httpduo {httpduo.__version__}",
    ]


def test_httpduo_main_without_the_cli_extra_says_what_to_install() -> None:
    script = "import sys; sys.modules['click'] = None; import httpduo; httpduo.main()"
    result = run_python(script)
    assert result.returncode == 1
    assert result.stdout == b""
    assert b"click is not installed" in result.stderr
    assert b"pip install 'httpduo[cli]'" in result.stderr


def test_the_console_script_points_at_main() -> None:
    try:
        distribution = importlib.metadata.distribution("httpduo")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("httpduo is not installed as a distribution")
    scripts = {ep.name: ep for ep in distribution.entry_points if ep.group == "console_scripts"}
    assert scripts["httpduo"].value == "httpduo._cli.main:main"
    from httpduo._cli.main import main

    assert scripts["httpduo"].load() is main


def test_help_names_the_program_httpduo() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert result.stdout.decode().startswith("Usage: httpduo [OPTIONS] URL")
    assert "Exit status" in result.stdout.decode()
