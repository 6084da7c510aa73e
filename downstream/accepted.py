"""Tests that pass on httpx and may fail on httpduo, one by one, each with its reason.

Rules: an entry names one test (its pytest node id, exactly as the run reports it) of one
project, and says why the difference is accepted: what the test checks that httpduo does
differently on purpose. Never a file, a class or a pattern. An entry whose test passes on
httpduo, or no longer passes on httpx, is reported as stale so the list only shrinks.
"""

from __future__ import annotations

_RESPX_PASS_THROUGH = (
    "The test sees a pass-through reach the network by patching the calls httpcore connects "
    "with: `anyio.connect_tcp` (async) and `socket.create_connection` (sync). httpduo opens "
    "its sockets itself (its own Happy Eyeballs, so socket options apply before connect; "
    "_backends/), so neither patch is called. The request does pass through: it reaches "
    "httpduo's connect (the runner's audit hook sees the lookup of example.org) and fails "
    "there with the httpx.NetworkError the test expects."
)

_SUBPROCESS = (
    "The test runs `sys.executable -c 'import openai ...'` in a child process. The opt-in is "
    "per process (`pytest -p httpduo.as_httpx` in this one), and the httpduo venv has no httpx "
    "installed by design, so the child's `import httpx` fails (ModuleNotFoundError). A user "
    "starts such a child with `python -m httpduo.as_httpx` instead."
)

# (project, node id) -> reason
ACCEPTED: dict[tuple[str, str], str] = {
    ("respx", "tests/test_api.py::test_pass_through[httpcore-route0-True]"): _RESPX_PASS_THROUGH,
    ("respx", "tests/test_api.py::test_pass_through[httpx-route1-True]"): _RESPX_PASS_THROUGH,
    ("respx", "tests/test_api.py::test_pass_through[httpcore-route2-False]"): _RESPX_PASS_THROUGH,
    ("respx", "tests/test_api.py::test_pass_through[httpcore-route3-True]"): _RESPX_PASS_THROUGH,
    ("openai", "tests/test_client.py::TestAsyncOpenAI::test_get_platform"): _SUBPROCESS,
}
