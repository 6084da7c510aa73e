"""pytest plugin for the downstream runner: one JSON line per test, its final outcome.

Loaded with `-p httpduo_downstream_outcomes` inside the downstream project's own venv, so it
uses only the standard library and pytest. The file named by $HTTPDUO_DOWNSTREAM_OUTCOMES
receives `{"nodeid", "outcome", "longrepr"}` per test, where outcome is one of passed,
failed, error (setup or teardown failed), skipped, xfailed, xpassed. A test that fails its
call and its teardown counts as failed; one that passes its call but errors in teardown as
error. longrepr is the failure text, cut to its last lines. "network" lists the
non-loopback hosts the test tried to reach (`socket.getaddrinfo` or `socket.connect`, seen
through an audit hook), so the runner can tell a request that a mock should have caught.

`--downstream-keep-marked=PATH:MARK` deselects the tests under PATH that lack MARK (the
OpenAI SDK's tests/api_resources need a mock server, except those marked respx).
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from collections.abc import Generator
from typing import Any

import pytest

_KEEP_LINES = 60
_results: dict[str, dict[str, Any]] = {}
_current: list[str] = []  # the node id of the test running now, if any
_network: dict[str, set[str]] = {}


def _loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _current or event not in ("socket.getaddrinfo", "socket.connect"):
        return
    address = args[1] if event == "socket.connect" else args[:2]
    if not isinstance(address, tuple) or not address:  # AF_UNIX paths stay on the machine
        return
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if isinstance(host, str) and not _loopback(host):
        _network.setdefault(_current[0], set()).add(host)


sys.addaudithook(_audit)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: Any) -> Generator[None, None, None]:
    _current[:] = [item.nodeid]
    try:
        yield
    finally:
        _current.clear()


def _text(report: Any) -> str:
    text = str(getattr(report, "longreprtext", "") or "")
    lines = text.splitlines()
    return "\n".join(lines[-_KEEP_LINES:])


def pytest_addoption(parser: Any) -> None:
    parser.addoption(
        "--downstream-keep-marked",
        action="append",
        default=[],
        metavar="PATH:MARK",
        help="deselect the tests under PATH that lack the marker MARK",
    )


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    rules = [rule.rsplit(":", 1) for rule in config.getoption("downstream_keep_marked")]
    if not rules:
        return
    kept: list[Any] = []
    dropped: list[Any] = []
    for item in items:
        drop = any(
            item.nodeid.startswith(path) and item.get_closest_marker(mark) is None
            for path, mark in rules
        )
        (dropped if drop else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_runtest_logreport(report: Any) -> None:
    entry = _results.setdefault(report.nodeid, {"outcome": "passed", "longrepr": ""})
    xfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if xfail:
            entry["outcome"] = "xfailed" if report.skipped else "xpassed"
        elif report.outcome != "passed":
            entry["outcome"] = report.outcome
        if report.failed or report.skipped:
            entry["longrepr"] = _text(report)
    elif report.skipped:
        entry["outcome"] = "xfailed" if xfail else "skipped"
        entry["longrepr"] = _text(report)
    elif report.failed and entry["outcome"] in ("passed", "xpassed"):
        entry["outcome"] = "error"
        entry["longrepr"] = f"[{report.when}] " + _text(report)


def pytest_sessionfinish(session: Any) -> None:
    path = os.environ.get("HTTPDUO_DOWNSTREAM_OUTCOMES")
    if not path:
        return
    with open(path, "w", encoding="utf-8") as out:
        for nodeid, entry in _results.items():
            network = sorted(_network.get(nodeid, ()))
            out.write(json.dumps({"nodeid": nodeid, **entry, "network": network}) + "\n")


def pytest_collectreport(report: Any) -> None:
    # A module that cannot be imported is a failure of every test in it; pytest reports it
    # as a collection error with no test ids, so it is recorded under the module's id.
    if report.failed:
        _results[report.nodeid or "<collection>"] = {
            "outcome": "collect-error",
            "longrepr": _text(report),
        }
