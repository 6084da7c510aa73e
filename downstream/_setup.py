"""Where the suites run: network isolation, the sources, the venvs.

Rules:
- Tests run in a network namespace of their own (`unshare --net`) with only the loopback
  interface up, so no request can leave the machine even if a mock fails to catch it.
  Where that is impossible (not root, no `unshare`) the runner refuses unless told to go
  on unisolated, and then says so loudly.
- Sources are the sdists from the package index, downloaded once into the work directory
  and unpacked afresh for every run; a checkout named by an environment variable supplies
  tests/ for the projects whose sdists have none.
- A venv is reused while its requirements are unchanged (a stamp file holds their hash);
  httpduo is reinstalled into it on every run. The httpduo venv is checked to have no
  httpx and no httpcore, the httpx venv to have both.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from downstream.projects import HTTPDUO_EXTRAS, HTTPX_BASELINE, Project

# Run inside `unshare --net`: bring the loopback interface up (SIOCGIFFLAGS, SIOCSIFFLAGS
# with IFF_UP), then become the test command. Python rather than `ip`, which may be absent.
LOOPBACK_UP = """
import fcntl, os, socket, struct, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
req = struct.pack("16sH14s", b"lo", 0, b"")
flags = struct.unpack("16sH14s", fcntl.ioctl(sock, 0x8913, req))[1]
fcntl.ioctl(sock, 0x8914, struct.pack("16sH14s", b"lo", flags | 1, b""))
sock.close()
os.execv(sys.argv[1], sys.argv[1:])
"""


def say(message: str) -> None:
    print(f"[downstream] {message}", flush=True)


def loud(message: str) -> None:
    bar = "!" * 78
    print(f"\n{bar}\n!! {message}\n{bar}\n", flush=True)


def run_logged(cmd: list[str], log: Path, **kwargs: object) -> None:
    """Run an install step; its output goes to the log, and to the screen if it fails."""
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        tail = "\n".join(log.read_text(encoding="utf-8").splitlines()[-40:])
        raise RuntimeError(f"command failed ({done.returncode}): {' '.join(cmd)}\n{tail}")


# ---------------------------------------------------------------- isolation


def isolation_prefix(allow_network: bool) -> list[str]:
    """The command prefix that runs a command with only loopback; [] if unavailable."""
    unshare = shutil.which("unshare")
    if unshare:
        probe = [unshare, "--net", sys.executable, "-c", LOOPBACK_UP, sys.executable, "-c", ""]
        if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
            return [unshare, "--net"]
    message = (
        "NO NETWORK ISOLATION: `unshare --net` is unavailable here (it needs root or user "
        "namespaces). The suites run with the machine's network; a mock that fails to "
        "catch a request lets it out."
    )
    if not allow_network:
        raise SystemExit(message + " Pass --allow-network to run anyway.")
    loud(message)
    return []


def wrap(prefix: list[str], python: Path, cmd: list[str]) -> list[str]:
    if not prefix:
        return cmd
    return [*prefix, str(python), "-c", LOOPBACK_UP, *cmd]


# ---------------------------------------------------------------- sources


def sdist(project: Project, workdir: Path, log: Path) -> Path:
    """The project's sdist from the index, downloaded once into the work directory."""
    folder = workdir / "sdists"
    folder.mkdir(parents=True, exist_ok=True)
    prefixes = {project.name.lower(), project.name.lower().replace("-", "_")}
    names = {f"{prefix}-{project.version}.tar.gz" for prefix in prefixes}

    def find() -> Path | None:
        for path in folder.iterdir():
            if path.name.lower() in names:
                return path
        return None

    found = find()
    if found is None:
        run_logged(
            [
                *(sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps"),
                *("-d", str(folder), project.requirement),
            ],
            log,
        )
        found = find()
    if found is None:
        raise RuntimeError(f"pip download gave no {' or '.join(sorted(names))} in {folder}")
    return found


def test_tree(project: Project) -> Path | None:
    """A checkout whose tests/ replaces the sdist's, for projects that ship none."""
    if project.tests_from == "sdist":
        return None
    value = os.environ.get(project.tests_from, "")
    return Path(value) if value else None


def fresh_source(project: Project, archive: Path, tests: Path | None, dest: Path) -> Path:
    """Unpack the sdist into dest (emptied first) and lay the external tests/ over it."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            if member.name.startswith("/") or ".." in Path(member.name).parts:
                raise RuntimeError(f"{archive.name}: unsafe member {member.name!r}")
        tar.extractall(dest)  # members checked above
    (top,) = [path for path in dest.iterdir() if path.is_dir()]
    if tests is not None:
        shutil.rmtree(top / "tests", ignore_errors=True)
        shutil.copytree(tests / "tests", top / "tests")
    return top


# ---------------------------------------------------------------- venvs


def create_venv(path: Path, log: Path) -> Path:
    try:
        import virtualenv  # type: ignore[import-not-found,unused-ignore]  # noqa: F401

        cmd = [sys.executable, "-m", "virtualenv", "--quiet", str(path)]
    except ImportError:
        cmd = [sys.executable, "-m", "venv", str(path)]
    run_logged(cmd, log)
    return path / "bin" / "python"


# The protocol packages under the HTTP libraries are part of what the two runs compare
# (httpcore 1.0.7 pins h11 < 0.15; httpduo needs h11 >= 0.16): never held at httpx's.
_HTTP_STACK = frozenset({"h11", "h2", "hpack", "hyperframe", "httptools", "socksio"})


def _pinned(pip: list[str]) -> str:
    """`name==version` for what a venv has installed, URL installs and the HTTP stack's
    own packages left out: the constraints installing httpduo must keep."""
    frozen = subprocess.run(
        [*pip, "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
    ).stdout
    lines = [
        line
        for line in frozen.splitlines()
        if "==" in line
        and " @ " not in line
        and line.split("==")[0].strip().lower() not in _HTTP_STACK
    ]
    return "\n".join(lines) + "\n"


def prepare_venv(
    project: Project,
    side: str,
    source: Path,
    httpduo: str,
    editable: bool,
    workdir: Path,
    log: Path,
) -> Path:
    """The side's venv with the project, its test deps and the HTTP library under test."""
    venv = workdir / "venvs" / f"{project.name}-{side}"
    python = venv / "bin" / "python"
    target = f"{source}[{project.extras}]" if project.extras else str(source)
    requirements = [*project.test_deps, *HTTPX_BASELINE]
    stamp_data = {
        "python": sys.version,
        "project": project.requirement,
        "extras": project.extras,
        "requirements": requirements,
        "httpduo": [httpduo, HTTPDUO_EXTRAS, editable] if side == "httpduo" else None,
    }
    stamp = hashlib.sha256(json.dumps(stamp_data, sort_keys=True).encode()).hexdigest()
    stamp_file = venv / "downstream-stamp"
    fresh = not (python.exists() and stamp_file.exists() and stamp_file.read_text() == stamp)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    if fresh:
        if venv.exists():
            shutil.rmtree(venv)
        create_venv(venv, log)
        # One resolver pass for everything, so both sides get the same versions.
        run_logged([*pip, "install", target, *requirements], log)
        if side == "httpduo":
            run_logged([*pip, "uninstall", "-y", "httpx", "httpcore"], log)
            spec = f"{httpduo}[{HTTPDUO_EXTRAS}]"
            # Installing httpduo may add packages but never move one the project resolved
            # (anyio, say): the two runs must differ in the HTTP library only. A floor of
            # httpduo's above a project's pin then fails here, saying which, instead of
            # silently testing another version.
            constraints = venv / "downstream-constraints.txt"
            constraints.write_text(_pinned(pip))
            run_logged(
                [*pip, "install", "-c", str(constraints), *(["-e"] if editable else []), spec],
                log,
            )
        stamp_file.write_text(stamp)
    elif side == "httpduo" and not editable:
        # The checkout may have changed since the venv was made: reinstall it alone.
        run_logged([*pip, "install", "--no-deps", "--force-reinstall", httpduo], log)
    check = (
        "import importlib.util as u, sys; "
        "missing = [m for m in ('httpx', 'httpcore') if u.find_spec(m) is None]; "
        "print('httpx/httpcore absent' if len(missing) == 2 else 'httpx/httpcore present'); "
        "import httpduo; print('httpduo', httpduo.__file__)"
        if side == "httpduo"
        else "import httpx, httpcore; "
        "print('httpx', httpx.__version__, 'httpcore', httpcore.__version__)"
    )
    done = subprocess.run([str(python), "-c", check], capture_output=True, text=True, check=False)
    if done.returncode != 0 or "present" in done.stdout:
        raise RuntimeError(
            f"{venv.name}: wrong HTTP library installed:\n{done.stdout}{done.stderr}"
        )
    say(f"{venv.name}: {done.stdout.strip()}")
    return python
