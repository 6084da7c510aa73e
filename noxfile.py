"""Developer sessions. The whole check, as README and .ci/run give it (in a virtualenv):

    pip install nox && nox -s lint typing codegen tests docs

(`nox` alone runs the same five, in that order; add `-r` to reuse the virtualenvs between
runs). Those sessions run on the interpreter that runs nox, in a virtualenv of their own,
so a fresh machine needs only Python and pip; `tests` installs the Debian daemons the
tests start when it can (`_install_daemons`). `nox -s codegen -- write` regenerates the
sync trees with the pinned tools (plain `python -m codegen` does the same with yours).

`lowest` and `newest` run the suite at the dependency ends, each on the oldest and the
newest Python of pyproject's classifiers (`lowest-3.9`, ..., `newest-3.13`); CI runs
`lowest-3.13` and `newest-3.13` (the 3.9 pair by hand, see .ci/run).

Rules: tools whose output is compared byte for byte are pinned: ruff formats the generated
sync trees, so the ruff that writes them and the ruff that checks them must agree. The
lowest versions are read from pyproject, never listed here."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox
from packaging.requirements import Requirement  # nox depends on packaging

# virtualenv ships with nox, so no other tool is needed; stdlib venv would also work, slower.
nox.options.default_venv_backend = "virtualenv"
nox.options.sessions = ["lint", "typing", "codegen", "tests", "docs"]
nox.options.error_on_external_run = True

ROOT = Path(__file__).resolve().parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
# The oldest and newest Python the project supports, from pyproject's classifiers.
PYTHON_ENDS = [
    nox.project.python_versions(PYPROJECT)[0],
    nox.project.python_versions(PYPROJECT)[-1],
]

RUFF = "ruff==0.17.6"
MYPY = "mypy==2.4.1"
# unasync imports setuptools when it is imported, and newer venvs no longer carry it.
CODEGEN_DEPS = [RUFF, "unasync==0.6.0", "tokenize-rt>=6", "setuptools"]
TEST_DEPS = [
    "pytest",
    "pytest-cov",
    "anyio",
    "trio",
    "trustme",
    "uvicorn",
    "hypercorn",
    "hypothesis",
    "h2",
    "brotli",
    "zstandard",
    "socksio",
    *CODEGEN_DEPS,  # tests/test_codegen.py runs the generator
]


# What the integration tests start (tests/servers/): command -> the Debian package with it.
# Tests missing one skip locally and fail with CI=true (tests/missing.py), so this table
# cannot silently fall behind the tests.
DAEMONS = {
    "squid": "squid",
    "tinyproxy": "tinyproxy",
    "danted": "dante-server",
    "microsocks": "microsocks",
    "nginx": "nginx-light",
    "openssl": "openssl",
}
SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def _present(*paths: str) -> list[str]:
    # An empty folder (bench/ before it has files) does not exist in a fresh clone.
    return [path for path in paths if (ROOT / path).exists()]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over everything written in Python."""
    session.install(RUFF)
    paths = _present("src", "tests", "codegen", "bench", "downstream", "noxfile.py")
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session(name="typing")
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, the tests, the generator and this file."""
    session.install("-e", ".[all]", *TEST_DEPS, MYPY, "nox")
    # Module names come from the paths (src/ via mypy_path): tests/_async/x.py and
    # tests/_sync/x.py are tests._async.x and tests._sync.x, never two modules named x.
    paths = _present("src", "tests", "codegen", "downstream", "noxfile.py")
    session.run("mypy", "--strict", "--explicit-package-bases", *paths)


@nox.session
def codegen(session: nox.Session) -> None:
    """Check that the sync trees match their async sources (`-- write` regenerates)."""
    session.install(*CODEGEN_DEPS)
    if session.posargs == ["write"]:
        session.run("python", "-m", "codegen")
    else:
        session.run("python", "-m", "codegen", "--check", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """pytest with a coverage report; arguments after `--` go to pytest."""
    _install_daemons(session)
    session.install("-e", ".[all]", *TEST_DEPS)
    _run_suite(session, coverage=True)
    if not session.posargs:
        # A brief coverage-guided run of the llhttp codec's fuzz target (longer by hand:
        # see fuzz/README.md); tests/codecs/test_fuzz_smoke.py runs it without atheris.
        session.install("atheris")
        session.run("python", "fuzz/fuzz_llhttp_codec.py", "-atheris_runs=20000")


@nox.session(python=PYTHON_ENDS)
def lowest(session: nox.Session) -> None:
    """The suite with every dependency and extra at the lowest version pyproject allows.

    The pins are read from pyproject's floors (`anyio>=4.10` installs anyio==4.10), so
    they cannot drift from what we declare; the test tools resolve around them.
    """
    _install_daemons(session)
    session.install("-e", ".[all]", *TEST_DEPS, *floor_pins(str(session.python)))
    session.run("python", "-m", "pip", "list", "--format=freeze", silent=False)
    _run_suite(session, coverage=False)


@nox.session(python=PYTHON_ENDS)
def newest(session: nox.Session) -> None:
    """The suite with the newest release of every dependency, extra and test tool."""
    _install_daemons(session)
    session.install("--upgrade", "--upgrade-strategy=eager", "-e", ".[all]", *TEST_DEPS)
    session.run("python", "-m", "pip", "list", "--format=freeze", silent=False)
    _run_suite(session, coverage=False)


def _run_suite(session: nox.Session, *, coverage: bool) -> None:
    # `python -m pytest` puts the checkout on sys.path: tests import `tests.*` helpers.
    cov = ["--cov", "--cov-report=term-missing:skip-covered"] if coverage else []
    session.run("python", "-m", "pytest", *cov, *session.posargs)
    if not session.posargs:
        # The defaults above are the llhttp codec and, under asyncio, the native backend;
        # the whole suite runs again on the other codec and backend (h11, anyio). Trio
        # (always anyio) and the sync backend run in both passes.
        session.run(
            "python",
            "-m",
            "pytest",
            env={"HTTPDUO_HTTP1_CODEC": "h11", "HTTPDUO_ASYNC_BACKEND": "anyio"},
        )


def _install_daemons(session: nox.Session) -> None:
    """Install the Debian packages whose daemons the tests start, or stop saying how to.

    Only what is missing is installed (`apt-get` as root); the packages' own services
    are kept from starting by a policy-rc.d for the duration, as the tests run private
    instances. Without root or apt-get the session stops with the command to run.
    """
    absent = sorted(
        {
            package
            for command, package in DAEMONS.items()
            if shutil.which(command) is None
            and not any(os.access(os.path.join(d, command), os.X_OK) for d in SBIN)
        }
    )
    if not absent:
        return
    command = ["apt-get", "install", "-y", "--no-install-recommends", *absent]
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        session.error(
            f"The tests need these Debian packages, not installed here: {' '.join(absent)}. "
            f"Run `sudo {' '.join(command)}` (elsewhere, install the same programs), "
            "then this session again."
        )
    session.log(f"Installing {' '.join(absent)} for the integration tests")
    policy = Path("/usr/sbin/policy-rc.d")
    created = not policy.exists()
    if created:
        policy.write_text("#!/bin/sh\nexit 101\n")  # 101: "action forbidden", no service starts
        policy.chmod(0o755)
    try:
        session.run_install("apt-get", "update", "-qq", external=True)
        session.run_install(
            *command, "-qq", env={"DEBIAN_FRONTEND": "noninteractive"}, external=True
        )
    finally:
        if created:
            policy.unlink()


def floor_pins(python_version: str) -> list[str]:
    """`name==floor` for every dependency and extra in pyproject that applies on that Python.

    A requirement without a floor is an error: "lowest" would mean whatever ancient
    release the index still has, which nobody tests.
    """
    project = PYPROJECT["project"]
    texts = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        texts += [text for text in extra if not text.startswith(project["name"] + "[")]
    pins = []
    for text in texts:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is not None and not marker.evaluate({"python_version": python_version}):
            continue
        floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if len(floors) != 1:
            raise ValueError(f"pyproject.toml: {text!r} needs exactly one `>=` floor")
        pins.append(f"{requirement.name}=={floors[0]}")
    return pins


@nox.session
def bench(session: nox.Session) -> None:
    """The side-by-side benchmarks (bench/README.md); arguments after `--` go to the runner.

    Not in the default sessions: it takes minutes and wants nginx installed (Debian:
    apt-get install nginx-light); without it the runner falls back to uvicorn and says so.
    """
    # The clients compared against; requests is a bench-only dependency.
    bench_deps = ["httpx", "aiohttp", "urllib3", "requests", "uvicorn"]
    session.install("-e", ".", *bench_deps)
    session.run("python", "-m", "bench", *session.posargs)


@nox.session
def downstream(session: nox.Session) -> None:
    """Seven projects built on httpx run their own test suites on httpx and on httpduo.

    Starlette, FastAPI, respx, pytest-httpx, hishel, the OpenAI SDK and httpx-sse, each at
    a pinned version from the package index, each in two venvs of its own (httpx 0.28.1;
    httpduo through `pytest -p httpduo.as_httpx` with httpx and httpcore uninstalled), in
    a loopback-only network namespace. Fails when a test passes on httpx and not on
    httpduo, unless downstream/accepted.py lists it with its reason. respx and hishel ship
    no tests in their sdists: set HTTPDUO_DOWNSTREAM_RESPX / HTTPDUO_DOWNSTREAM_HISHEL to
    checkouts of those releases, or they are skipped (loudly). `-- --quick` runs a subset
    of every suite; other arguments go to `python -m downstream` (see its --help).
    Not in the default sessions (CI runs it after them): with new venvs the whole run takes
    3 to 8 minutes on two cores, depending on load; under 2 when they are kept.
    """
    session.install("virtualenv")  # makes the fourteen venvs faster than stdlib venv
    workdir = Path(session.cache_dir) / "downstream"  # kept across runs, outside the venv
    session.run(
        "python",
        "-m",
        "downstream",
        "--workdir",
        str(workdir),
        "--httpduo",
        str(ROOT),
        *session.posargs,
    )


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site (mkdocs.yml, docs/) with `mkdocs build --strict`.

    Strict: a broken link or anchor, a page missing from the nav or an API reference
    that does not resolve fails the build. Every tool is pinned, so a warning cannot
    appear (or vanish) with a new release. The API reference is read from src/ by
    static analysis, so the package need not be installed. The examples in docs/ are
    run by tests/docs in the `tests` session. Arguments after `--` go to mkdocs.
    """
    session.install(
        "mkdocs==1.6.1",
        "mkdocs-material==9.8.1",
        "mkdocstrings==1.0.8",
        "mkdocstrings-python==2.0.11",
        "mkdocs-autorefs==1.4.5",
        "griffelib==2.4.1",
        "pymdown-extensions==13.1",
        "markdown==3.11.3",
        RUFF,  # mkdocstrings formats the signatures with it
    )
    # NO_MKDOCS_2_WARNING: mkdocs-material's banner about MkDocs 2 is not about this site.
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})
