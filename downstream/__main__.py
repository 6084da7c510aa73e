"""python -m downstream: each project's own suite on httpx 0.28.1 and on httpduo, compared.

Rules:
- Every project gets two venvs of its own under the work directory (never in the checkout):
  `<name>-httpx` with httpx 0.28.1 and httpcore 1.0.7, and `<name>-httpduo` with the same
  requirements, then httpx and httpcore uninstalled and httpduo installed from the
  checkout under test; its run adds `-p httpduo.as_httpx`. A venv is reused while its
  requirements are unchanged; httpduo is reinstalled into it on every run.
- Tests run in a network namespace of their own with only the loopback interface up, so
  no request can leave the machine even if a mock fails to catch it. Where that is
  impossible (not root, no `unshare`), the runner says so loudly and runs unisolated.
- Sources come from the package index as sdists; respx and hishel ship no tests in theirs,
  so their tests/ come from a checkout named by an environment variable. Without it the
  project is skipped, loudly.
- A regression is a test that passes on httpx and does not pass on httpduo (fails, errors,
  is skipped or is never collected), unless downstream/accepted.py lists it with a reason.
  So is a test that, on httpduo only, looks up or connects to a host off the machine (an
  audit hook in the outcomes plugin sees it): a request its mock should have caught.
  Any regression, or a run that produced no results, makes the exit status non-zero.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from downstream.accepted import ACCEPTED
from downstream.projects import HTTPDUO_EXTRAS, HTTPX_BASELINE, PROJECTS, Project

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIR = Path(__file__).resolve().parent / "plugin"
SIDES = ("httpx", "httpduo")
PASSED = "passed"

# Variables that would change what a suite does (a live-server switch, a proxy, options
# injected into pytest) are removed from the tests' environment.
SCRUBBED_ENV = (
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "PYTHONPATH",
    "PASS_THROUGH",
    "TEST_API_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_LIVE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)

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


@dataclasses.dataclass
class Outcome:
    outcome: str
    longrepr: str
    # Non-loopback hosts the test tried to reach (looked up or connected to).
    network: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class SideRun:
    outcomes: dict[str, Outcome]
    install_seconds: float
    run_seconds: float
    error: str = ""  # why the run produced no usable results


@dataclasses.dataclass
class Row:
    project: Project
    httpx: SideRun | None = None
    httpduo: SideRun | None = None
    skipped_reason: str = ""
    regressions: list[str] = dataclasses.field(default_factory=list)
    accepted: list[str] = dataclasses.field(default_factory=list)
    stale: list[str] = dataclasses.field(default_factory=list)
    flaky: list[str] = dataclasses.field(default_factory=list)
    # Tests that reached hosts off the machine on httpduo but not on httpx: a mock missed.
    network: dict[str, list[str]] = dataclasses.field(default_factory=dict)


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
            run_logged([*pip, "install", *(["-e"] if editable else []), spec], log)
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


# ---------------------------------------------------------------- running


def run_suite(
    project: Project,
    side: str,
    python: Path,
    source: Path,
    args: list[str],
    prefix: list[str],
    results: Path,
    log: Path,
    timeout: float,
) -> tuple[dict[str, Outcome], str]:
    """Run the project's pytest once; its per-test outcomes, and an error if it broke."""
    if results.exists():
        results.unlink()
    env = {key: value for key, value in os.environ.items() if key not in SCRUBBED_ENV}
    env["PYTHONPATH"] = str(PLUGIN_DIR)
    env["HTTPDUO_DOWNSTREAM_OUTCOMES"] = str(results)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # A module that fails to import costs its own tests, not the whole run.
    plugins = ["-p", "httpduo_downstream_outcomes", "-p", "no:cacheprovider"]
    plugins.append("--continue-on-collection-errors")
    if side == "httpduo":
        plugins += ["-p", "httpduo.as_httpx"]
    cmd = wrap(prefix, python, [str(python), "-m", "pytest", *plugins, "-q", "-rN", *args])
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ (cd {source} && {' '.join(cmd)})\n")
        out.flush()
        start = out.tell()
        proc = subprocess.Popen(
            cmd, cwd=source, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = -1
    outcomes = read_outcomes(results)
    error = ""
    if code == -1:
        error = f"timed out after {timeout:.0f} s"
    elif code not in (0, 1) or not outcomes:
        with log.open(encoding="utf-8") as out:
            out.seek(start)
            tail = "\n".join(out.read().splitlines()[-30:])
        error = f"pytest exited {code} with {len(outcomes)} results:\n{tail}"
    return outcomes, error


def run_side(
    project: Project,
    side: str,
    archive: Path,
    tests: Path | None,
    options: argparse.Namespace,
    prefix: list[str],
) -> SideRun:
    workdir: Path = options.workdir
    mode = "quick" if options.quick else "full"
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{project.name}-{side}-{mode}.log"
    log.write_text("")
    started = time.monotonic()
    source = fresh_source(project, archive, tests, workdir / "runs" / project.name / side)
    python = prepare_venv(project, side, source, options.httpduo, options.editable, workdir, log)
    installed = time.monotonic()
    args = project.quick_args if options.quick else project.pytest_args
    results = workdir / "results" / f"{project.name}-{side}-{mode}.jsonl"
    results.parent.mkdir(parents=True, exist_ok=True)
    retry_file(results).unlink(missing_ok=True)
    say(f"{project.name} on {side}: running its tests (log: {log})")
    outcomes, error = run_suite(
        project, side, python, source, args, prefix, results, log, options.timeout
    )
    done = time.monotonic()
    failure = results.with_suffix(".error")
    if error:
        failure.write_text(error, encoding="utf-8")
    elif failure.exists():
        failure.unlink()
    return SideRun(outcomes, installed - started, done - installed, error)


def retry_file(results: Path) -> Path:
    return results.with_name(results.stem + "-retry.jsonl")


def read_outcomes(path: Path) -> dict[str, Outcome]:
    outcomes = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            outcomes[entry["nodeid"]] = Outcome(
                entry["outcome"], entry["longrepr"], entry.get("network", [])
            )
    return outcomes


def retry(row: Row, options: argparse.Namespace, prefix: list[str]) -> None:
    """Run the regressions once more on httpduo; those that pass now are flaky, not lost.

    Some suites have timing-dependent tests (the OpenAI SDK's 2-second subprocess, a
    tracemalloc leak check) that fail now and then on a loaded machine, on httpx too.
    They are listed as flaky, loudly, but do not fail the run.
    """
    project = row.project
    mode = "quick" if options.quick else "full"
    results = options.workdir / "results" / f"{project.name}-httpduo-{mode}.jsonl"
    source = options.workdir / "runs" / project.name / "httpduo"
    (top,) = [path for path in source.iterdir() if path.is_dir()]
    python = options.workdir / "venvs" / f"{project.name}-httpduo" / "bin" / "python"
    args = project.quick_args if options.quick else project.pytest_args
    # The same options (-k, --ignore..., deselections), the failed tests instead of the paths.
    kept = [arg for arg in args if not (top / arg).exists()]
    ids = [nodeid for nodeid in row.regressions if "::" in nodeid]
    if not ids or len(ids) > 100:
        return
    log = options.workdir / "logs" / f"{project.name}-httpduo-{mode}.log"
    say(f"{project.name} on httpduo: running the {len(ids)} lost tests once more")
    run_suite(
        project,
        "httpduo",
        python,
        top,
        [*kept, *ids],
        prefix,
        retry_file(results),
        log,
        options.timeout,
    )


def apply_retry(row: Row, options: argparse.Namespace) -> None:
    mode = "quick" if options.quick else "full"
    results = options.workdir / "results" / f"{row.project.name}-httpduo-{mode}.jsonl"
    again = read_outcomes(retry_file(results))
    if not again:
        return
    row.flaky = [n for n in row.regressions if again.get(n, Outcome("", "")).outcome == PASSED]
    row.regressions = [n for n in row.regressions if n not in row.flaky]


def load_side(project: Project, side: str, options: argparse.Namespace) -> SideRun | None:
    mode = "quick" if options.quick else "full"
    results = options.workdir / "results" / f"{project.name}-{side}-{mode}.jsonl"
    failure = results.with_suffix(".error")
    error = failure.read_text(encoding="utf-8") if failure.exists() else ""
    if not results.exists() and not error:
        return None
    return SideRun(read_outcomes(results), 0.0, 0.0, error)


# ---------------------------------------------------------------- comparing


def compare(row: Row) -> None:
    assert row.httpx is not None
    assert row.httpduo is not None
    name = row.project.name
    base = row.httpx.outcomes
    new = row.httpduo.outcomes
    for nodeid, outcome in base.items():
        if outcome.outcome != PASSED:
            continue
        got = new.get(nodeid)
        if got is not None and got.outcome == PASSED:
            if (name, nodeid) in ACCEPTED:
                row.stale.append(f"{nodeid}: passes on httpduo now")
            continue
        (row.accepted if (name, nodeid) in ACCEPTED else row.regressions).append(nodeid)
    for project_name, nodeid in ACCEPTED:
        # Not run at all (--quick, -k) says nothing; run and not passing may be flaky on httpx.
        if project_name == name and nodeid in base and base[nodeid].outcome != PASSED:
            row.stale.append(f"{nodeid}: does not pass on httpx (in this run)")
    for nodeid, got in new.items():
        before = base.get(nodeid)
        extra = sorted(set(got.network) - set(before.network if before else []))
        if extra and (name, nodeid) not in ACCEPTED:
            row.network[nodeid] = extra


def first_line_of_error(side: SideRun, nodeid: str) -> str:
    got = side.outcomes.get(nodeid)
    if got is None:
        # Never collected: the module's collection error says why.
        module = nodeid.split("::", 1)[0]
        collect = side.outcomes.get(module)
        if collect is not None:
            got = collect
        elif side.error:
            # The run's last exception line: pytest's own "E ..." line, or a traceback's.
            lines = [line for line in side.error.splitlines() if line.strip("! ")]
            errors = [line[1:].strip() for line in lines if line.startswith("E ")]
            return "not run: " + (errors[-1] if errors else lines[-1] if lines else "no output")
        else:
            return "not collected"
    lines = [line for line in got.longrepr.splitlines() if line.startswith("E ")]
    detail = lines[0][1:].strip() if lines else (got.longrepr.splitlines() or [""])[-1]
    return f"{got.outcome}: {detail}"[:200]


def print_grouped(side: SideRun, nodeids: list[str], shown: int = 8) -> None:
    """The regressions grouped by their first error line, a few ids per group."""
    groups: dict[str, list[str]] = {}
    for nodeid in nodeids:
        groups.setdefault(first_line_of_error(side, nodeid), []).append(nodeid)
    for reason, members in sorted(groups.items(), key=lambda item: -len(item[1])):
        print(f"  {len(members)} x {reason}")
        for nodeid in members[:shown]:
            print(f"      {nodeid}")
        if len(members) > shown:
            print(f"      ... and {len(members) - shown} more (the report lists them all)")


def count(side: SideRun | None, outcome: str) -> str:
    if side is None:
        return "-"
    if side.error and not side.outcomes:
        return "ERR"
    return str(sum(1 for entry in side.outcomes.values() if entry.outcome == outcome))


def tests_count(side: SideRun | None) -> str:
    if side is None:
        return "-"
    return str(sum(1 for entry in side.outcomes.values() if entry.outcome != "collect-error"))


def print_table(rows: list[Row]) -> None:
    header = (
        "project",
        "tests",
        "httpx passes",
        "httpduo passes",
        "regressions",
        "accepted",
        "flaky",
        "network",
    )
    table: list[tuple[str, ...]] = [header]
    for row in rows:
        label = f"{row.project.name} {row.project.version}"
        if row.skipped_reason:
            table.append((label, "SKIPPED", "-", "-", "-", "-", "-", "-"))
            continue
        regress = str(len(row.regressions)) if row.httpduo and row.httpx else "-"
        table.append(
            (
                label,
                tests_count(row.httpx),
                count(row.httpx, PASSED),
                count(row.httpduo, PASSED),
                regress,
                str(len(row.accepted)),
                str(len(row.flaky)),
                str(len(row.network)),
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    rule = "-+-".join("-" * width for width in widths)
    print()
    for index, line in enumerate(table):
        print(" | ".join(cell.ljust(width) for cell, width in zip(line, widths)))
        if index == 0:
            print(rule)
    print()


def write_report(rows: list[Row], path: Path) -> None:
    report = []
    for row in rows:
        entry: dict[str, object] = {
            "project": row.project.name,
            "version": row.project.version,
            "skipped": row.skipped_reason,
        }
        for side in SIDES:
            run: SideRun | None = getattr(row, side)
            if run is not None:
                entry[side] = {
                    "tests": tests_count(run),
                    "passed": count(run, PASSED),
                    "install_seconds": round(run.install_seconds, 1),
                    "run_seconds": round(run.run_seconds, 1),
                    "error": run.error,
                }
        if row.httpduo is not None:
            entry["regressions"] = {
                nodeid: row.httpduo.outcomes.get(nodeid, Outcome("missing", "")).__dict__
                for nodeid in row.regressions
            }
        entry["accepted"] = row.accepted
        entry["flaky"] = row.flaky
        entry["network"] = row.network
        entry["stale"] = row.stale
        report.append(entry)
    path.write_text(json.dumps(report, indent=1), encoding="utf-8")


# ---------------------------------------------------------------- main


def parse(argv: list[str]) -> argparse.Namespace:
    names = [project.name for project in PROJECTS]
    parser = argparse.ArgumentParser(
        prog="python -m downstream", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="run each project's small subset")
    parser.add_argument(
        "--project", action="append", choices=names, help="only this project (repeatable)"
    )
    parser.add_argument(
        "--side", choices=(*SIDES, "both"), default="both", help="run only one side"
    )
    parser.add_argument(
        "--reuse-baseline",
        action="store_true",
        help="take the httpx side from the last run's results when present",
    )
    parser.add_argument(
        "--compare-only", action="store_true", help="run nothing; compare the last results"
    )
    parser.add_argument(
        "--httpduo", default=str(ROOT), help="httpduo checkout to install (default: this one)"
    )
    parser.add_argument("--editable", action="store_true", help="install httpduo with -e")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(
            os.environ.get("HTTPDUO_DOWNSTREAM_DIR", ROOT / ".nox" / ".cache" / "downstream")
        ),
        help="venvs, sources, logs and results (default: $HTTPDUO_DOWNSTREAM_DIR or "
        ".nox/.cache/downstream)",
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="pytest runs and installs at once (default: 2)"
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per pytest run")
    parser.add_argument(
        "--allow-network",
        action="store_true",
        help="run without network isolation where `unshare --net` is unavailable",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    options = parse(argv)
    options.workdir = options.workdir.resolve()
    options.workdir.mkdir(parents=True, exist_ok=True)
    chosen = [p for p in PROJECTS if not options.project or p.name in options.project]
    prefix = [] if options.compare_only else isolation_prefix(options.allow_network)
    if prefix:
        say("tests run in a network namespace with only loopback up")
    rows: list[Row] = []
    work: list[tuple[Row, str, Path, Path | None]] = []
    for project in chosen:
        row = Row(project)
        rows.append(row)
        tests = test_tree(project)
        missing = tests is None or not (tests / "tests").is_dir()
        if project.tests_from != "sdist" and missing and not options.compare_only:
            row.skipped_reason = (
                f"${project.tests_from} is unset or has no tests/ "
                f"({project.name} {project.version} ships no tests in its sdist; point it at a "
                "checkout of that release)"
            )
            loud(f"SKIPPING {project.name}: {row.skipped_reason}")
            continue
        for side in SIDES:
            reuse = options.compare_only or (side == "httpx" and options.reuse_baseline)
            if options.side not in ("both", side) or reuse:
                setattr(row, side, load_side(project, side, options))
                continue
            log = options.workdir / "logs" / f"{project.name}-download.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            try:
                archive = sdist(project, options.workdir, log)
            except RuntimeError as problem:
                setattr(row, side, SideRun({}, 0.0, 0.0, str(problem)))
                continue
            work.append((row, side, archive, tests))

    def one(item: tuple[Row, str, Path, Path | None]) -> None:
        row, side, archive, tests = item
        try:
            run = run_side(row.project, side, archive, tests, options, prefix)
        except RuntimeError as problem:
            run = SideRun({}, 0.0, 0.0, str(problem))
        setattr(row, side, run)
        say(
            f"{row.project.name} on {side}: {count(run, PASSED)} passed of {tests_count(run)} "
            f"(install {run.install_seconds:.0f} s, tests {run.run_seconds:.0f} s)"
        )

    started = time.monotonic()
    # Installs wait on the index as much as on the processor: two at once pays off on two cores.
    with concurrent.futures.ThreadPoolExecutor(max_workers=options.jobs) as pool:
        list(pool.map(one, work))
    if work:
        say(f"all runs took {time.monotonic() - started:.0f} s")
    broken = False
    for row in rows:
        for side in SIDES:
            run = getattr(row, side)
            if run is not None and run.error:
                broken = True
                loud(f"{row.project.name} on {side}: NO USABLE RESULTS: {run.error}")
        if row.httpx is not None and row.httpduo is not None:
            compare(row)
            ran_now = any(item[0] is row and item[1] == "httpduo" for item in work)
            if row.regressions and ran_now and not row.httpduo.error:
                retry(row, options, prefix)
            apply_retry(row, options)
    print_table(rows)
    report = options.workdir / ("report-quick.json" if options.quick else "report.json")
    write_report(rows, report)
    failed = False
    for row in rows:
        if row.regressions and row.httpduo is not None:
            failed = True
            lost = len(row.regressions)
            print(f"{row.project.name}: {lost} tests pass on httpx, not on httpduo:")
            print_grouped(row.httpduo, row.regressions)
        if row.network:
            failed = True
            print(f"{row.project.name}: tests that tried to reach the network on httpduo only:")
            for nodeid, hosts in row.network.items():
                print(f"  {nodeid}\n      {', '.join(hosts)}")
        if row.flaky:
            print(f"{row.project.name}: FLAKY on httpduo (failed, then passed when run again):")
            for nodeid in row.flaky:
                print(f"      {nodeid}")
        for entry in row.stale:
            print(f"{row.project.name}: stale entry in downstream/accepted.py: {entry}")
        if row.skipped_reason:
            print(f"{row.project.name}: SKIPPED: {row.skipped_reason}")
    say(f"full report: {report}")
    if not prefix and work:
        loud("These runs were NOT network-isolated (see the warning at the top).")
    # One closing line in the form test runners end with, counting the tests that pass on
    # httpx: kept on httpduo, or lost (regressions, network use; a crashed run counts whole).
    kept = lost = 0
    for row in rows:
        if row.httpx is None or row.httpduo is None:
            continue
        base = [n for n, got in row.httpx.outcomes.items() if got.outcome == PASSED]
        kept += sum(
            1 for n in base if row.httpduo.outcomes.get(n, Outcome("", "")).outcome == PASSED
        )
        lost += len(row.regressions) + len(row.network)
    print(f"downstream: {kept} passed, {lost} failed")
    return 1 if failed or broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
