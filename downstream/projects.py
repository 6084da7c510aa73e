"""The downstream projects: what to install and which of their tests to run, pinned.

Rules: the project and its direct test dependencies are pinned, so a change in the table
comes from httpduo and not from a new release somewhere (their own dependencies resolve
when a venv is made, alike for both sides unless a release lands in between). The same
arguments (paths, deselections) are given to both runs of a project; only the HTTP library
under it differs. A deselection says why in a comment; it applies to both runs, so it
never hides a regression.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# pytest itself and the async plugins, shared where the projects allow it.
PYTEST = "pytest==8.3.4"
PYTEST_ASYNCIO = "pytest-asyncio==0.24.0"
PYTEST_COV = "pytest-cov==6.0.0"  # only so that addopts' --cov flags parse; runs use --no-cov
# httpduo's own floor (pyproject): a lower pin would be upgraded on the httpduo side only,
# and the two runs would then differ in anyio, not just in the HTTP library (newer anyio
# releases deprecate names Starlette's TestClient uses, which its warnings-as-errors fail).
ANYIO = "anyio==4.10.0"
TRIO = "trio==0.28.0"
STARLETTE = "starlette==0.45.3"

# The baseline: httpx and the httpcore it was released with. Both sides get the same
# optional packages: brotli and zstandard are left out of both, because either one changes
# the Accept-Encoding header both libraries send (and makes Starlette skip tests).
HTTPX_BASELINE = ["httpx[http2,socks]==0.28.1", "httpcore==1.0.7"]
# httpduo's extras: the same two as httpx's above, and httptools for httpduo's default
# HTTP/1.1 codec. Not trio or cli: they would put trio, click and rich in one venv only.
HTTPDUO_EXTRAS = "http2,socks,speedups"


@dataclass(frozen=True)
class Project:
    """One downstream project and the way its own test suite is run."""

    name: str
    version: str
    # The test tree: "sdist" (shipped in the package's sdist) or the name of an environment
    # variable pointing at a checkout of the release (its tests/ is copied over the sdist).
    tests_from: str = "sdist"
    extras: str = ""
    test_deps: list[str] = field(default_factory=list)
    # Arguments after `pytest`, identical in both runs: paths, -p/-o options, deselections.
    pytest_args: list[str] = field(default_factory=list)
    # The subset `--quick` runs: a few test files that still reach the project's httpx use.
    quick_args: list[str] = field(default_factory=list)

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


PROJECTS: list[Project] = [
    Project(
        name="starlette",
        version="0.45.3",
        extras="full",
        test_deps=[
            PYTEST,
            ANYIO,
            TRIO,
            "itsdangerous==2.2.0",
            "jinja2==3.1.5",
            "python-multipart==0.0.20",
            "pyyaml==6.0.2",
            "typing_extensions==4.12.2",
        ],
        pytest_args=["tests"],
        quick_args=["tests/test_testclient.py", "tests/test_responses.py"],
    ),
    Project(
        name="fastapi",
        version="0.115.8",
        extras="all",
        test_deps=[
            PYTEST,
            ANYIO,
            TRIO,
            STARLETTE,
            "dirty-equals==0.8.0",
            "flask==3.1.0",
            "PyJWT==2.8.0",
            "passlib[bcrypt]==1.7.4",
            "bcrypt==4.0.1",  # passlib 1.7.4 reads bcrypt.__about__, gone in bcrypt 4.1
            "sqlalchemy==2.0.37",
            "orjson==3.10.15",
            "ujson==5.10.0",
            "pydantic==2.10.6",
            "pydantic-settings==2.7.1",
        ],
        # The issue's table counts the top-level tests (tests/*.py), not the tutorials'.
        pytest_args=["tests", "--ignore-glob=tests/*/*"],
        quick_args=["tests/test_ws_router.py", "tests/test_datastructures.py"],
    ),
    Project(
        name="respx",
        version="0.22.0",
        tests_from="HTTPDUO_DOWNSTREAM_RESPX",
        test_deps=[PYTEST, PYTEST_ASYNCIO, PYTEST_COV, TRIO, STARLETTE, "flask==3.1.0"],
        # tests/test_remote.py skips itself unless PASS_THROUGH is set (the runner unsets it).
        pytest_args=["tests", "--no-cov"],
        quick_args=["tests/test_mock.py", "--no-cov"],
    ),
    Project(
        name="pytest_httpx",
        version="0.35.0",
        test_deps=[PYTEST, PYTEST_ASYNCIO, PYTEST_COV],
        pytest_args=["tests"],
        quick_args=["tests/test_httpx_sync.py"],
    ),
    Project(
        name="hishel",
        version="0.1.1",
        tests_from="HTTPDUO_DOWNSTREAM_HISHEL",
        extras="yaml,sqlite",
        test_deps=[PYTEST, ANYIO, TRIO, "redis==5.0.1"],
        # The redis storage tests need a redis server on 127.0.0.1:6379 (none here).
        pytest_args=["tests", "-k", "not redis"],
        quick_args=["tests/_sync", "tests/test_controller.py", "-k", "not redis"],
    ),
    Project(
        name="openai",
        version="1.58.1",
        test_deps=[
            PYTEST,
            PYTEST_ASYNCIO,
            TRIO,
            "respx==0.22.0",
            "dirty-equals==0.6.0",
            "time-machine==2.16.0",
            "inline-snapshot==0.10.2",
            "rich==13.7.1",
            "nest_asyncio==1.6.0",
            "importlib-metadata==7.0.0",
            "pydantic==2.10.3",
        ],
        # Offline only: tests/api_resources talk to a prism mock server on 127.0.0.1:4010,
        # except those marked `respx` (mocked; they stay).
        pytest_args=["tests", "--downstream-keep-marked=tests/api_resources/:respx"],
        quick_args=["tests/test_client.py"],
    ),
    Project(
        name="httpx-sse",
        version="0.4.0",
        test_deps=[PYTEST, PYTEST_ASYNCIO, PYTEST_COV, STARLETTE, "sse-starlette==2.2.1"],
        pytest_args=["tests", "--no-cov"],
        quick_args=["tests", "--no-cov"],
    ),
]
