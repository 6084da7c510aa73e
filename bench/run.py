"""Run the benchmarks: `python -m bench [options]` or `python bench/run.py [options]`.

Rules:
- Every client runs in the same process, against the same server, in the same run; the
  result is RATIOS to httpduo, never absolute times (this machine is noisy). Absolute
  samples go to the JSON file only, as raw data.
- Repetitions are interleaved (each round runs every client once, starting with a
  different one each round), so slow drift of the machine hits every client alike.
- Each round of each client runs in a fresh worker process (`--worker`, internal), so no
  client inherits another's heap, caches or imports: streaming downloads in particular
  are sensitive to the allocator's state. `--in-process` trades that for speed.
- time ratio = row's time / httpduo's time, per round; the table shows the median over
  rounds (`--stat best`: best row time / best httpduo time). Above 1: httpduo is faster.
- The table goes to stdout; progress and warnings go to stderr.
- A scenario this server cannot run (the TLS ones without a TLS listener) is reported as
  skipped, with the reason, and the run goes on.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py`: make the checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import cProfile
import dataclasses
import datetime
import fnmatch
import importlib.metadata
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional

from bench.clients import (
    BenchError,
    Unavailable,
    async_clients,
    async_tls_clients,
    httpduo_layer,
    sync_clients,
)
from bench.scenarios import SCENARIOS, Contestant, Options, Plan, Sample
from bench.server import ServerInfo, ServerUnavailable, bench_server

__all__ = ["main"]

BENCH_DIR = Path(__file__).resolve().parent
CHECKOUT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
LIBRARIES = (
    "httpduo",
    "httpx",
    "httpcore",
    "h11",
    "h2",
    "anyio",
    "aiohttp",
    "urllib3",
    "requests",
)

# glibc tunables that switch off its adaptive mmap/trim thresholds (--fixed-malloc).
FIXED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(4 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}

QUICK = {"requests": 200, "async_requests": 1000, "size_mb": 10, "repeat": 1}
FULL = {"requests": 2000, "async_requests": 10_000, "size_mb": 100, "repeat": 3}


@dataclass
class Row:
    name: str
    role: str
    detail: str
    samples: list[Sample]
    ratio: float
    ratio_low: float
    ratio_high: float
    cpu_per_unit_us: float
    cpu_ratio: float
    cpu_share: float  # CPU time / wall time: near 100% means the client is the bottleneck


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Benchmark httpduo side by side with httpx, aiohttp, urllib3 and requests "
            "against a private nginx on 127.0.0.1. Prints time ratios to httpduo "
            "(row time / httpduo time: above 1 means httpduo is faster) and CPU "
            "microseconds per unit; saves the details as JSON under bench/results/."
        ),
    )
    size = parser.add_argument_group("workload")
    size.add_argument(
        "--quick",
        action="store_true",
        help=(
            "a smoke run of well under a minute: "
            + ", ".join(f"{k.replace('_', '-')}={v}" for k, v in QUICK.items())
            + " (explicit options still win)"
        ),
    )
    size.add_argument(
        "--requests",
        type=_positive,
        help=f"GETs in sync-sequential (default {FULL['requests']})",
    )
    size.add_argument(
        "--async-requests",
        type=_positive,
        help=f"GETs in async-concurrent (default {FULL['async_requests']})",
    )
    size.add_argument(
        "--concurrency",
        type=_positive,
        default=100,
        help="tasks and pool size in async-concurrent (default 100)",
    )
    size.add_argument(
        "--size-mb",
        type=_positive,
        help=f"size of /large in MiB for the downloads (default {FULL['size_mb']})",
    )
    size.add_argument(
        "--repeat",
        type=_positive,
        help=f"rounds per scenario (default {FULL['repeat']})",
    )
    size.add_argument(
        "--stat",
        choices=("median", "best"),
        default="median",
        help=(
            "median: median over rounds of the per-round ratio (default); "
            "best: ratio of the best times"
        ),
    )
    pick = parser.add_argument_group("selection")
    pick.add_argument(
        "--only",
        action="append",
        metavar="SCENARIO",
        help=(
            "run only these scenarios (comma-separated or repeated; shell patterns like "
            f"'*download' work). Scenarios: {', '.join(SCENARIOS)}"
        ),
    )
    pick.add_argument(
        "--clients",
        action="append",
        metavar="NAME",
        help="run only these rows (comma-separated or repeated); httpduo always runs",
    )
    pick.add_argument(
        "--list", action="store_true", help="list the scenarios and client rows, then exit"
    )
    other = parser.add_argument_group("server and output")
    other.add_argument(
        "--server",
        choices=("auto", "nginx", "uvicorn"),
        default="auto",
        help="auto: nginx if installed, else uvicorn with a warning (default auto)",
    )
    other.add_argument(
        "--output", type=Path, help="JSON file to write (default bench/results/<time>.json)"
    )
    other.add_argument("--no-save", action="store_true", help="do not write the JSON file")
    other.add_argument(
        "--in-process",
        action="store_true",
        help=(
            "run every round in this process instead of a fresh worker process per round "
            "(faster; rows then share one heap, which skews the downloads)"
        ),
    )
    other.add_argument(
        "--fixed-malloc",
        action="store_true",
        help=(
            "give the worker processes fixed glibc malloc thresholds (mmap 4 MiB, trim "
            "256 MiB) instead of glibc's adaptive ones: removes the bimodal download "
            "timings that the adaptive mmap threshold causes (see bench/README.md)"
        ),
    )
    # Internal: run one round of one row and print its sample as JSON (see _run_isolated).
    other.add_argument("--worker", help=argparse.SUPPRESS)
    other.add_argument(
        "--profile",
        metavar="NAME",
        help=(
            "instead of benchmarking, run one round of row NAME (e.g. httpduo) in each "
            "selected scenario under cProfile and print the top entries"
        ),
    )
    other.add_argument(
        "--profile-top",
        type=_positive,
        default=15,
        help="entries per profile listing (default 15)",
    )
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _split(values: Optional[list[str]]) -> list[str]:
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def select_scenarios(patterns: list[str]) -> list[str]:
    if not patterns:
        return list(SCENARIOS)
    chosen = [name for name in SCENARIOS if any(fnmatch.fnmatch(name, p) for p in patterns)]
    if not chosen:
        raise SystemExit(
            f"--only {','.join(patterns)} matches no scenario; known: {', '.join(SCENARIOS)}"
        )
    return chosen


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return _worker(args.worker)
    if args.fixed_malloc and args.in_process:
        print("error: --fixed-malloc needs worker processes; drop --in-process", file=sys.stderr)
        return 2
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    if args.list:
        _print_list()
        return 0
    names = select_scenarios(_split(args.only))
    clients = _split(args.clients)
    options = Options(
        requests=args.requests,
        async_requests=args.async_requests,
        concurrency=args.concurrency,
        clients=frozenset(clients) if clients else None,
    )
    try:
        with bench_server(args.server, args.size_mb * 1024 * 1024) as server:
            if args.profile:
                return _profile(names, options, server, args.profile, args.profile_top)
            return _bench(names, options, server, args)
    except ServerUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BenchError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; the bench server was stopped.", file=sys.stderr)
        return 130


def _print_list() -> None:
    print("scenarios:")
    for name, fn in SCENARIOS.items():
        print(f"  {name:18} {(fn.__doc__ or '').strip().splitlines()[0]}")
    print(f"sync rows (httpduo layer: {httpduo_layer()}):")
    for spec in sync_clients().values():
        print(f"  {spec.name:28} {spec.role:9} {spec.detail}")
    print("async rows:")
    for aspec in async_clients().values():
        print(f"  {aspec.name:28} {aspec.role:9} {aspec.detail}")
    print("TLS rows (h2-* scenarios):")
    for tspec in async_tls_clients().values():
        print(f"  {tspec.name:28} {tspec.role:9} {tspec.detail}")


def _bench(
    names: list[str], options: Options, server: ServerInfo, args: argparse.Namespace
) -> int:
    meta = _metadata(server, args)
    print(_header(meta))
    results: dict[str, Any] = {}
    for name in names:
        try:
            plan = SCENARIOS[name](options, server)
        except Unavailable as exc:
            print(f"\n== {name}: skipped: {exc} ==", flush=True)
            results[name] = {"skipped": str(exc)}
            continue
        if args.in_process:
            rows, skipped = _run_plan(plan, args.repeat, args.stat, _run_here)
        else:
            rows, skipped = _run_plan(
                plan,
                args.repeat,
                args.stat,
                _isolated(name, options, server, fixed_malloc=args.fixed_malloc),
            )
        print(_table(plan, rows, skipped, args.repeat, args.stat, server), flush=True)
        results[name] = _plan_json(plan, rows, skipped)
    if not args.no_save:
        path = args.output or RESULTS_DIR / (
            datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ".json"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"meta": meta, "scenarios": results}, indent=2) + "\n")
        print(f"saved {path}", file=sys.stderr)
    return 0


def _run_here(contestant: Contestant) -> Sample:
    return contestant.run(None)


def _isolated(
    name: str, options: Options, server: ServerInfo, *, fixed_malloc: bool
) -> Callable[[Contestant], Sample]:
    """Runs one round of a row in a fresh worker process, which rebuilds the plan."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CHECKOUT), env.get("PYTHONPATH")]))
    if fixed_malloc:
        env.update(FIXED_MALLOC)
    job = {
        "scenario": name,
        "options": {
            "requests": options.requests,
            "async_requests": options.async_requests,
            "concurrency": options.concurrency,
        },
        "server": dataclasses.asdict(server),
    }

    def run(contestant: Contestant) -> Sample:
        payload = json.dumps({**job, "row": contestant.name})
        command = [sys.executable, "-m", "bench", "--worker", payload]
        proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            raise BenchError(
                f"{contestant.name} failed in {name} (exit {proc.returncode}):\n"
                f"{proc.stderr[-4000:]}"
            )
        result = json.loads(lines[-1])
        if "unavailable" in result:
            raise Unavailable(result["unavailable"])
        return Sample(result["wall"], result["cpu"])

    return run


def _worker(payload: str) -> int:
    job = json.loads(payload)
    options = Options(**job["options"])
    plan = SCENARIOS[job["scenario"]](options, ServerInfo(**job["server"]))
    contestant = next(c for c in plan.contestants if c.name == job["row"])
    try:
        sample = contestant.run(None)
    except Unavailable as exc:
        print(json.dumps({"unavailable": str(exc)}))
        return 0
    print(json.dumps({"wall": sample.wall, "cpu": sample.cpu}))
    return 0


def _run_plan(
    plan: Plan, rounds: int, stat: str, run: Callable[[Contestant], Sample]
) -> tuple[list[Row], dict[str, str]]:
    plan.prime()
    contestants = list(plan.contestants)
    samples: dict[str, list[Sample]] = {c.name: [] for c in contestants}
    skipped: dict[str, str] = {}
    for round_ in range(rounds):
        # Rotate the order so that no client always runs first (or right after another).
        shift = round_ % len(contestants) if contestants else 0
        for contestant in contestants[shift:] + contestants[:shift]:
            if contestant.name in skipped:
                continue
            _progress(f"{plan.name}: round {round_ + 1}/{rounds}: {contestant.name}")
            try:
                samples[contestant.name].append(run(contestant))
            except Unavailable as exc:
                if contestant.role == "baseline":
                    raise SystemExit(f"error: httpduo cannot run: {exc}") from None
                skipped[contestant.name] = str(exc)
    _progress("")
    ran = [c for c in contestants if c.name not in skipped]
    base = next(c for c in ran if c.role == "baseline")
    base_samples = samples[base.name]
    rows = []
    for c in ran:
        mine = samples[c.name]
        ratios = [s.wall / b.wall for s, b in zip(mine, base_samples)]
        cpu_ratios = [s.cpu / b.cpu for s, b in zip(mine, base_samples)]
        if stat == "best":
            best, best_base = min(mine, key=_wall), min(base_samples, key=_wall)
            ratio = best.wall / best_base.wall
            cpu_ratio = min(s.cpu for s in mine) / min(s.cpu for s in base_samples)
            cpu = min(s.cpu for s in mine)
            share = best.cpu / best.wall
        else:
            ratio = statistics.median(ratios)
            cpu_ratio = statistics.median(cpu_ratios)
            cpu = statistics.median(s.cpu for s in mine)
            share = statistics.median(s.cpu / s.wall for s in mine)
        rows.append(
            Row(
                name=c.name,
                role=c.role,
                detail=c.detail,
                samples=mine,
                ratio=ratio,
                ratio_low=min(ratios),
                ratio_high=max(ratios),
                cpu_per_unit_us=cpu / plan.units * 1e6,
                cpu_ratio=cpu_ratio,
                cpu_share=share,
            )
        )
    return rows, skipped


def _wall(sample: Sample) -> float:
    return sample.wall


def _progress(text: str) -> None:
    if sys.stderr.isatty():
        print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)
    elif text:
        print(text, file=sys.stderr, flush=True)


def _table(
    plan: Plan,
    rows: list[Row],
    skipped: dict[str, str],
    rounds: int,
    stat: str,
    server: ServerInfo,
) -> str:
    how = (
        f"median over {rounds} rounds of (row time / httpduo time)"
        if stat == "median"
        else f"best row time / best httpduo time, {rounds} rounds"
    )
    out = io.StringIO()
    out.write(f"\n== {plan.name}: {plan.title} ==\n")
    out.write(f"time ratio = {how}; above 1.00 = httpduo is faster\n")
    unit = f"CPU µs/{plan.unit}"
    header = (
        f"{'row':28} {'time ratio':>10} {'range':>11}  {unit:>16} {'CPU ratio':>9} {'CPU/wall':>8}"
    )
    out.write(header + "\n" + "-" * len(header) + "\n")
    for row in rows:
        spread = f"{row.ratio_low:.2f}-{row.ratio_high:.2f}" if rounds > 1 else ""
        mark = " *" if row.role == "baseline" else ""
        out.write(
            f"{row.name + mark:28} {row.ratio:>10.2f} {spread:>11}  "
            f"{row.cpu_per_unit_us:>16.1f} {row.cpu_ratio:>9.2f} {row.cpu_share:>8.0%}\n"
        )
    base = next(row for row in rows if row.role == "baseline")
    out.write(f"* baseline: {base.detail}\n")
    for name, reason in skipped.items():
        out.write(f"skipped {name}: {reason}\n")
    for note in plan.notes:
        out.write(f"note: {note}\n")
    ratios = {row.name: row.ratio for row in rows}
    for target in plan.targets:
        value = target.value(ratios)
        if value is None:
            verdict = "not measured (a row did not run)"
        elif target.minimum is None:
            verdict = f"{value:.2f}"
        else:
            met = "met" if value >= target.minimum else "MISSED"
            verdict = f"{value:.2f} (target {target.minimum:.2f}): {met}"
        out.write(f"target: {target.text}: {verdict}\n")
    if server.server_bound:
        out.write("WARNING: uvicorn fallback server: these ratios are server-bound.\n")
    return out.getvalue()


def _header(meta: dict[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v)
    server = meta["server"]
    return (
        f"httpduo bench — Python {meta['python']} on {meta['platform']}, "
        f"{meta['cpu_count']} CPUs\n"
        f"server: {server['version']} at {server['base_url']}"
        + (f" and {server['tls_base_url']} (TLS)" if server.get("tls_base_url") else "")
        + " (1 process)\n"
        f"versions: {versions}\n"
        f"httpduo layer measured: {meta['httpduo_layer']}; commit {meta['git']}; "
        f"each round: {meta['options']['isolation']}"
        + (", fixed malloc thresholds" if meta["options"]["fixed_malloc"] else "")
    )


def _metadata(server: ServerInfo, args: argparse.Namespace) -> dict[str, Any]:
    versions: dict[str, Optional[str]] = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "cpu_count": os.cpu_count(),
        "httpduo_layer": httpduo_layer(),
        "git": _git_describe(),
        "versions": versions,
        "server": {
            "kind": server.kind,
            "version": server.version,
            "base_url": server.base_url,
            "tls_base_url": server.tls_base_url,
            "large_size": server.large_size,
            "server_bound": server.server_bound,
        },
        "options": {
            "requests": args.requests,
            "async_requests": args.async_requests,
            "concurrency": args.concurrency,
            "size_mb": args.size_mb,
            "repeat": args.repeat,
            "stat": args.stat,
            "quick": args.quick,
            "isolation": "in-process" if args.in_process else "process per round",
            "fixed_malloc": FIXED_MALLOC if args.fixed_malloc and not args.in_process else None,
        },
    }


def _git_describe() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(BENCH_DIR), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def _plan_json(plan: Plan, rows: list[Row], skipped: dict[str, str]) -> dict[str, Any]:
    return {
        "title": plan.title,
        "unit": plan.unit,
        "units_per_round": plan.units,
        "rows": [
            {
                "name": row.name,
                "role": row.role,
                "detail": row.detail,
                "time_ratio": row.ratio,
                "time_ratio_range": [row.ratio_low, row.ratio_high],
                "cpu_us_per_unit": row.cpu_per_unit_us,
                "cpu_ratio": row.cpu_ratio,
                "cpu_share": row.cpu_share,
                "samples": [{"wall_s": s.wall, "cpu_s": s.cpu} for s in row.samples],
            }
            for row in rows
        ],
        "skipped": skipped,
        "notes": plan.notes,
        "targets": [
            {
                "text": target.text,
                "row": target.row,
                "per": target.per,
                "minimum": target.minimum,
                "value": target.value({row.name: row.ratio for row in rows}),
            }
            for target in plan.targets
        ],
    }


def _profile(names: list[str], options: Options, server: ServerInfo, row: str, top: int) -> int:
    for name in names:
        try:
            plan = SCENARIOS[name](options, server)
        except Unavailable as exc:
            print(f"{name}: skipped: {exc}", file=sys.stderr)
            continue
        found = [c for c in plan.contestants if c.name == row]
        if not found:
            known = ", ".join(c.name for c in plan.contestants)
            print(f"{name}: no row {row!r} (rows: {known})", file=sys.stderr)
            continue
        plan.prime()
        profiler = cProfile.Profile()
        found[0].run(profiler)
        for key in ("cumulative", "tottime"):
            print(f"\n== profile of {row} in {name}: {plan.title}; top {top} by {key} ==")
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.sort_stats(key).print_stats(top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
