"""pytest plugin for the downstream runner: one JSON line per test, its final outcome.

Loaded with `-p httpduo_downstream_outcomes` inside the downstream project's own venv, so it
uses only the standard library and pytest. The file named by $HTTPDUO_DOWNSTREAM_OUTCOMES
receives `{"nodeid", "outcome", "longrepr"}` per test, where outcome is one of passed,
failed, error (setup or teardown failed), skipped, xfailed, xpassed. A test that fails its
call and its teardown counts as failed; one that passes its call but errors in teardown as
error. longrepr is the failure text, cut to its last lines.

`--downstream-keep-marked=PATH:MARK` deselects the tests under PATH that lack MARK (the
OpenAI SDK's tests/api_resources need a mock server, except those marked respx).
"""

from __future__ import annotations

import json
import os
from typing import Any

_KEEP_LINES = 60
_results: dict[str, dict[str, str]] = {}


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
            out.write(json.dumps({"nodeid": nodeid, **entry}) + "\n")


def pytest_collectreport(report: Any) -> None:
    # A module that cannot be imported is a failure of every test in it; pytest reports it
    # as a collection error with no test ids, so it is recorded under the module's id.
    if report.failed:
        _results[report.nodeid or "<collection>"] = {
            "outcome": "collect-error",
            "longrepr": _text(report),
        }
