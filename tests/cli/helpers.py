"""Helpers for the command-line tests: a clean environment, subprocess and pseudo-terminal
runs (all bounded in time), and ANSI handling.

Rules: every child gets an environment without colour, proxy or CA overrides unless a
test adds them; every wait has a deadline; a child still running at its deadline is
killed and the test fails.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from typing import Optional, Sequence

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# An SGR sequence that sets a foreground colour (30-37, 38;..., 90-97).
FOREGROUND_COLOUR = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-8]|9[0-7])(?:;[0-9]+)*m")

_DROPPED = {
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR_FORCE",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "COLUMNS",
    "LINES",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "ALL_PROXY",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
}


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment minus anything that changes the CLI's output."""
    env = {key: value for key, value in os.environ.items() if key.upper() not in _DROPPED}
    env["TERM"] = "xterm-256color"
    env["PYTHONUTF8"] = "1"
    env.update(extra)
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "httpduo", *args]


def run_cli(
    *args: str,
    env: Optional[dict[str, str]] = None,
    input: Optional[bytes] = None,
    timeout: float = 60.0,
    cwd: Optional[str] = None,
) -> subprocess.CompletedProcess[bytes]:
    """`python -m httpduo ARGS` with pipes for stdin, stdout and stderr."""
    return subprocess.run(
        command(*args),
        input=input,
        capture_output=True,
        env=clean_env() if env is None else env,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


@dataclass
class TerminalRun:
    code: int
    terminal: str  # everything written to the pseudo-terminal
    stderr: str  # stderr, when it was a pipe rather than the terminal


def run_in_terminal(
    args: Sequence[str],
    *,
    env: Optional[dict[str, str]] = None,
    stderr_on_terminal: bool = True,
    timeout: float = 60.0,
    columns: int = 100,
) -> TerminalRun:
    """Run `args` with stdout (and stderr) on a pseudo-terminal, as a user would."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(
        list(args),
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave if stderr_on_terminal else subprocess.PIPE,
        env=clean_env() if env is None else env,
    )
    os.close(slave)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(f"{args} still running after {timeout} s")
            readable, _, _ = select.select([master], [], [], 0.1)
            if readable:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every holder of the terminal's other side is gone
                    break
                if not data:
                    break
                output += data
        code = process.wait(timeout=max(0.1, deadline - time.monotonic()))
        stderr = process.stderr.read() if process.stderr is not None else b""
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
    return TerminalRun(code, output.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"))


# Runs its arguments with stdout on /dev/null and reports "<status> <peak RSS KiB>" for
# that child alone. A small launcher matters: Linux folds the RSS a process had when it
# called exec into its ru_maxrss, so a child forked straight from pytest would report
# pytest's own size.
_MEASURE = """
import resource, subprocess, sys
timeout = float(sys.argv[1])
code = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, timeout=timeout).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_mib(
    args: Sequence[str], *, env: dict[str, str], timeout: float = 120.0
) -> tuple[int, float, str]:
    """Run `args` to completion: exit status, peak resident memory in MiB, stderr."""
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(timeout), *args],
        capture_output=True,
        env=env,
        timeout=timeout + 30,
        check=False,
    )
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 0, stderr
    code, peak_kib = result.stdout.split()
    # ru_maxrss is in KiB on Linux.
    return int(code), int(peak_kib) / 1024, stderr
