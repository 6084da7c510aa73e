"""Comparing the two runs of a project: the outcomes, the regressions, the table, the report.

Rules: a regression is a test that passes on httpx and does not pass on httpduo (fails,
errors, is skipped or is never collected), unless downstream/accepted.py lists it. A test
that reaches a host off the machine on httpduo but not on httpx fails too. An accepted
entry whose test now passes on httpduo, or fails on httpx, is reported as stale.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from downstream.accepted import ACCEPTED
from downstream.projects import Project

SIDES = ("httpx", "httpduo")
PASSED = "passed"


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


def read_outcomes(path: Path) -> dict[str, Outcome]:
    outcomes = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            outcomes[entry["nodeid"]] = Outcome(
                entry["outcome"], entry["longrepr"], entry.get("network", [])
            )
    return outcomes


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
