"""python -m downstream: each project's own suite on httpx 0.28.1 and on httpduo, compared.

Rules:
- Every project gets two venvs of its own under the work directory (never in the checkout):
  `<name>-httpx` with httpx 0.28.1 and httpcore 1.0.7, and `<name>-httpduo` with the same
  requirements, then httpx and httpcore uninstalled and httpduo installed from the
  checkout under test; its run adds `-p httpduo.as_httpx`. Both runs get the same pytest
  arguments and the same scrubbed environment. (_setup.py: isolation, sources, venvs.)
- respx and hishel ship no tests in their sdists, so their tests/ come from a checkout
  named by an environment variable. Without it the project is skipped, loudly.
- A lost test is run once more on httpduo; passing then makes it flaky, not lost.
- Any regression (_compare.py), or a run that produced no results, makes the exit status
  non-zero. The last line counts the tests that pass on httpx: kept and lost on httpduo.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from downstream._compare import (
    PASSED,
    SIDES,
    Outcome,
    Row,
    SideRun,
    compare,
    count,
    print_grouped,
    print_table,
    read_outcomes,
    tests_count,
    write_report,
)
from downstream._setup import (
    fresh_source,
    isolation_prefix,
    loud,
    prepare_venv,
    say,
    sdist,
    test_tree,
    wrap,
)
from downstream.projects import PROJECTS, Project

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIR = Path(__file__).resolve().parent / "plugin"
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
        lost += len(set(row.regressions) | set(row.network))
    print(f"downstream: {kept} passed, {lost} failed")
    return 1 if failed or broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
