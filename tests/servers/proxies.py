"""Real proxy servers on 127.0.0.1 for the proxy tests: squid, tinyproxy, dante, microsocks.

Rules:
- Each proxy is a Debian package's binary (`nox -s tests` installs squid, tinyproxy,
  dante-server and microsocks). A missing binary skips the tests that use it, naming the
  package to install; with CI=true it fails them (tests/missing.py).
- A proxy runs as a child process in its own session, with a config generated into its
  own temporary directory, on free loopback ports. It is ready once its ports accept
  connections (within `STARTUP_TIMEOUT`); a proxy that exits or never listens fails the
  fixture with its own log. At teardown only the process group we started is signalled
  (SIGTERM, then SIGKILL) and the directory is removed. A watchdog process does the
  same if the test process dies without tearing down (killed by a timeout, say).
- Run as root, the daemons drop privileges (squid to `proxy`, the others to `nobody`);
  their directory is then handed to that user so they can write their logs.
- Tests prove their traffic went through a proxy by its own log: take `mark()` before,
  then `wait_for_log(text, since=mark)` after. squid writes a CONNECT line only when the
  tunnel closes, so close the client before waiting for one.
- No test ever goes through a proxy from the developer's environment: proxy variables
  are removed for the whole session (`_no_environment_proxies`).

Fixtures (session-scoped):
  squid           SquidProxy: `.url` plain HTTP proxy, `.auth_url` the same requiring
                  Basic credentials `.auth` (password with '@' and ':'), `.https_url` an
                  HTTPS proxy with the test CA's certificate
  tinyproxy       ProxyServer: `.url`
  dante           ProxyServer: `.url` "socks5://127.0.0.1:PORT" (SOCKS5 and SOCKS4, no auth)
  microsocks      ProxyServer: `.url` SOCKS5 without auth; logs the host it was asked for
  microsocks_auth ProxyServer: `.url` SOCKS5 requiring `.auth`
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

import pytest

from tests.missing import missing
from tests.servers.certs import TLSFiles

STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
LOG_TIMEOUT = 10.0
SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)

SQUID_USER = ("alice", "p@ss:w0rd")
SOCKS_USER = ("bob", "s0cks-secret")

# squid's Basic auth helper protocol: one "user password" line per check, both
# URL-escaped; answer "OK" or "ERR". perl-base is essential on Debian, and unlike the
# test interpreter it is reachable by the unprivileged `proxy` user.
_SQUID_AUTH_HELPER = r"""#!/usr/bin/perl
$| = 1;
while (my $line = <STDIN>) {
    chomp $line;
    my ($user, $password) = split / /, $line, 2;
    for ($user, $password) { s/%([0-9A-Fa-f]{2})/chr(hex($1))/eg; }
    print(($user eq "USER" && $password eq "PASSWORD") ? "OK\n" : "ERR\n");
}
"""


# Run with: parent pid, process group, directory. Polls the parent; once it is gone, stops
# the group and removes the directory. Killed by `stop()` when teardown happens normally.
_WATCHDOG = """
import os, shutil, signal, sys, time
parent, group, directory = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
while True:
    time.sleep(0.5)
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        break
for signum in (signal.SIGTERM, signal.SIGKILL):
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        break
    time.sleep(2)
shutil.rmtree(directory, ignore_errors=True)
"""


def find_binary(name: str) -> Optional[str]:
    found = shutil.which(name)
    if found is not None:
        return found
    for directory in SBIN_DIRS:
        path = os.path.join(directory, name)
        if os.access(path, os.X_OK):
            return path
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class ProxyServer:
    """One proxy daemon: `.url`, `.auth`, `.log_path`; `mark()` and `wait_for_log()`."""

    name = "proxy"

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.auth: Optional[Tuple[str, str]] = None
        self.log_path = directory / "access.log"
        self.output_path = directory / "output.log"
        self._process: Optional[subprocess.Popen[bytes]] = None
        self._watchdog: Optional[subprocess.Popen[bytes]] = None

    # -- what tests use --------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def mark(self) -> int:
        """The log's current length: pass it to `wait_for_log(since=...)`."""
        return len(self.log_text())

    def wait_for_log(self, text: str, *, since: int = 0, timeout: float = LOG_TIMEOUT) -> str:
        """The first log line after `since` containing `text`; fails after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log_text()[since:].splitlines():
                if text in line:
                    return line
            if time.monotonic() > deadline:
                tail = self.log_text()[since:][-2000:]
                raise AssertionError(f"{self.name} logged no line with {text!r}; log:\n{tail}")
            time.sleep(0.05)

    def log_lines(self, text: str, *, since: int = 0) -> List[str]:
        return [line for line in self.log_text()[since:].splitlines() if text in line]

    # -- lifecycle -------------------------------------------------------------------

    def command(self) -> Sequence[str]:
        raise NotImplementedError

    def ports(self) -> Sequence[int]:
        return (self.port,)

    def start(self) -> None:
        with open(self.output_path, "wb") as output:
            self._process = subprocess.Popen(
                list(self.command()),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                start_new_session=True,
            )
        arguments = [str(os.getpid()), str(self._process.pid), str(self.directory)]
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, *arguments],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        pending = list(self.ports())
        while pending:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self._process.returncode} during startup:\n"
                    f"{self.diagnostics()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"{self.name} did not listen within {STARTUP_TIMEOUT:g}s:\n"
                    f"{self.diagnostics()}"
                )
            if _accepts(pending[0]):
                pending.pop(0)
            else:
                time.sleep(0.05)

    def diagnostics(self) -> str:
        parts = []
        for path in sorted({*self.directory.glob("*.log"), self.output_path}):
            if path.exists():
                text = path.read_text(encoding="utf-8", errors="replace")[-3000:]
                parts.append(f"--- {path.name} ---\n{text}")
        return "\n".join(parts)

    def stop(self) -> None:
        watchdog = self._watchdog
        if watchdog is not None:
            self._watchdog = None
            watchdog.kill()
            watchdog.wait(STOP_TIMEOUT)
        process = self._process
        if process is None:
            return
        self._process = None
        if process.poll() is None:
            # Only the group of the process we started: the daemon and its helpers.
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(STOP_TIMEOUT)
        # Helpers that outlived the daemon (squid's) are in the same group.
        _signal_group(process.pid, signal.SIGKILL)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _hand_over(directory: Path, user: str) -> None:
    """As root, let the daemon's unprivileged user write its logs in `directory`."""
    if not _running_as_root():
        return
    entry = pwd.getpwnam(user)
    for path in [directory, *directory.iterdir()]:
        os.chown(path, entry.pw_uid, entry.pw_gid)


class SquidProxy(ProxyServer):
    """squid: forwarding and CONNECT on `.url`, the same behind Basic auth on `.auth_url`,
    and TLS to the proxy itself on `.https_url`."""

    name = "squid"

    def __init__(self, binary: str, directory: Path, tls_files: TLSFiles) -> None:
        super().__init__(binary, directory)
        self.auth_port = free_port()
        self.tls_port = free_port()
        self.auth = SQUID_USER
        cert = directory / "proxy.pem"
        key = directory / "proxy.key"
        shutil.copyfile(tls_files.certfile, cert)
        shutil.copyfile(tls_files.keyfile, key)
        helper = directory / "auth_helper.pl"
        script = _SQUID_AUTH_HELPER.replace("USER", _perl_string(SQUID_USER[0]))
        helper.write_text(script.replace("PASSWORD", _perl_string(SQUID_USER[1])))
        helper.chmod(0o755)
        user = "proxy" if _user_exists("proxy") else "nobody"
        lines = [
            f"http_port 127.0.0.1:{self.port} name=open",
            f"http_port 127.0.0.1:{self.auth_port} name=auth",
            f"https_port 127.0.0.1:{self.tls_port} name=tls tls-cert={cert} tls-key={key}",
            f"pid_filename {directory}/squid.pid",
            f"cache_log {directory}/cache.log",
            f"access_log stdio:{self.log_path}",
            f"coredump_dir {directory}",
            "cache deny all",
            "pinger_enable off",
            "strip_query_terms off",
            "shutdown_lifetime 0 seconds",
            "dns_nameservers 127.0.0.1",
            f"auth_param basic program /usr/bin/perl {helper}",
            "auth_param basic children 1 startup=1 idle=1",
            "auth_param basic realm httpduo-tests",
            "acl from_localhost src 127.0.0.1/32 ::1",
            "acl auth_port myportname auth",
            "acl authenticated proxy_auth REQUIRED",
            "http_access deny !from_localhost",
            "http_access deny auth_port !authenticated",
            "http_access allow from_localhost",
            "http_access deny all",
        ]
        if _running_as_root():
            lines.append(f"cache_effective_user {user}")
        config = directory / "squid.conf"
        config.write_text("\n".join(lines) + "\n")
        self.config = config
        for name in ("access.log", "cache.log"):
            (directory / name).touch()
        _hand_over(directory, user)

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.auth_port}"

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}"

    def command(self) -> Sequence[str]:
        return [self.binary, "-N", "-f", str(self.config)]

    def ports(self) -> Sequence[int]:
        return (self.port, self.auth_port, self.tls_port)


class TinyProxy(ProxyServer):
    name = "tinyproxy"

    def __init__(self, binary: str, directory: Path) -> None:
        super().__init__(binary, directory)
        lines = [
            f"Port {self.port}",
            "Listen 127.0.0.1",
            "Timeout 30",
            f'LogFile "{self.log_path}"',
            "LogLevel Connect",
            f'PidFile "{directory}/tinyproxy.pid"',
            "MaxClients 50",
            "Allow 127.0.0.1",
        ]
        if _running_as_root():
            lines += ["User nobody", f"Group {_group_of('nobody')}"]
        self.config = directory / "tinyproxy.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.log_path.touch()
        _hand_over(directory, "nobody")

    def command(self) -> Sequence[str]:
        return [self.binary, "-d", "-c", str(self.config)]


class DanteProxy(ProxyServer):
    name = "danted"

    def __init__(self, binary: str, directory: Path) -> None:
        super().__init__(binary, directory)
        lines = [
            f"logoutput: {self.log_path}",
            f"internal: 127.0.0.1 port = {self.port}",
            "external: 127.0.0.1",
            "clientmethod: none",
            "socksmethod: none",
        ]
        if _running_as_root():
            lines += ["user.privileged: root", "user.unprivileged: nobody"]
        # The rules come after every setting (dante's grammar).
        lines += [
            "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect error }",
            "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect error }",
        ]
        self.config = directory / "danted.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.log_path.touch()
        _hand_over(directory, "nobody")

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}"

    def command(self) -> Sequence[str]:
        return [self.binary, "-f", str(self.config), "-p", str(self.directory / "danted.pid")]


class MicroSocks(ProxyServer):
    """microsocks logs "client[N] IP: connected to HOST:PORT" (HOST as the client sent
    it) on stderr, which is its access log here."""

    name = "microsocks"

    def __init__(self, binary: str, directory: Path, auth: Optional[Tuple[str, str]]) -> None:
        super().__init__(binary, directory)
        self.auth = auth
        self.output_path = self.log_path

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}"

    def command(self) -> Sequence[str]:
        command = [self.binary, "-i", "127.0.0.1", "-p", str(self.port)]
        if self.auth is not None:
            command += ["-u", self.auth[0], "-P", self.auth[1]]
        return command


def _perl_string(text: str) -> str:
    """`text` for use inside a double-quoted perl string."""
    return "".join(f"\\x{{{ord(char):x}}}" for char in text)


def _user_exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def _group_of(user: str) -> str:
    import grp

    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


def _require(binary: str, package: str) -> str:
    path = find_binary(binary)
    if path is None:
        missing(f"{binary} is not installed (apt-get install {package})")
    return path


def _run(server: ProxyServer) -> Iterator[ProxyServer]:
    try:
        server.start()
    except RuntimeError as exc:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)


def _directory(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"httpduo-{name}-"))


@pytest.fixture(scope="session", autouse=True)
def _no_environment_proxies() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in PROXY_VARIABLES:
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(scope="session")
def squid(tls_files: TLSFiles) -> Iterator[SquidProxy]:
    binary = _require("squid", "squid")
    server = SquidProxy(binary, _directory("squid"), tls_files)
    for started in _run(server):
        assert isinstance(started, SquidProxy)
        yield started


@pytest.fixture(scope="session")
def tinyproxy() -> Iterator[ProxyServer]:
    binary = _require("tinyproxy", "tinyproxy")
    yield from _run(TinyProxy(binary, _directory("tinyproxy")))


@pytest.fixture(scope="session")
def dante() -> Iterator[ProxyServer]:
    binary = _require("danted", "dante-server")
    yield from _run(DanteProxy(binary, _directory("danted")))


@pytest.fixture(scope="session")
def microsocks() -> Iterator[ProxyServer]:
    binary = _require("microsocks", "microsocks")
    yield from _run(MicroSocks(binary, _directory("microsocks"), None))


@pytest.fixture(scope="session")
def microsocks_auth() -> Iterator[ProxyServer]:
    binary = _require("microsocks", "microsocks")
    yield from _run(MicroSocks(binary, _directory("microsocks-auth"), SOCKS_USER))
