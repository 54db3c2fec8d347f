"""Per-task overhead as a ratio to a bare thread pool, measured in one process, interleaved.

Each round runs the floor (a `concurrent.futures.ThreadPoolExecutor` doing the same work and
waiting on the same futures) and headwater back to back, in alternating order, so a busy
machine slows both alike; the figure is the median of the per-round ratios headwater ÷ floor,
with their min–max, and the load average while it ran. Every headwater run is recorded (the
default SQLite store in a temporary HEADWATER_HOME, its writer process included in the time)
unless `--store memory`.

    direct    N calls `inc_task(i)` in one flow        floor: N `pool.submit(inc, i).result()`
    submit    N `inc_task.submit(i)`, then `.result()` floor: N `pool.submit`, then `.result()`
    map       `inc_task.map(range(N)).result()`        floor: N `pool.submit`, then `.result()`
    subflow   N calls of a flow `inc_flow(i)` in one   floor: N `pool.submit(inc, i).result()`

    python benchmarks/bench_overhead.py                        # N = 10,000 and 100,000
    python benchmarks/bench_overhead.py --n 10000 --rounds 9 --level INFO --pin 0
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

WORKLOADS = ("direct", "submit", "map", "subflow")


def inc(x: int) -> int:
    return x + 1


def floors(pool: ThreadPoolExecutor) -> dict[str, Callable[[int], None]]:
    def sequential(n: int) -> None:
        for i in range(n):
            pool.submit(inc, i).result()

    def submit_all(n: int) -> None:
        futures = [pool.submit(inc, i) for i in range(n)]
        for future in futures:
            future.result()

    return {"direct": sequential, "submit": submit_all, "map": submit_all,
            "subflow": sequential}


def headwater_flows() -> dict[str, Callable[[int], None]]:
    from headwater import flow, task

    inc_task = task(inc)
    inc_flow = flow(inc)

    @flow
    def direct(n: int) -> None:
        for i in range(n):
            inc_task(i)

    @flow
    def submit(n: int) -> None:
        futures = [inc_task.submit(i) for i in range(n)]
        for future in futures:
            future.result()

    @flow
    def mapped(n: int) -> None:
        inc_task.map(range(n)).result()

    @flow
    def subflow(n: int) -> None:
        for i in range(n):
            inc_flow(i)

    return {"direct": direct, "submit": submit, "map": mapped, "subflow": subflow}


def timed(fn: Callable[[int], None], n: int) -> float:
    start = time.perf_counter()
    fn(n)
    return time.perf_counter() - start


def measure(workload: str, n: int, rounds: int) -> dict[str, Any]:
    pool = ThreadPoolExecutor()
    floor, engine = floors(pool)[workload], headwater_flows()[workload]
    floor(min(n, 1000))  # warm both up: imports, the pool's threads, the writer process
    engine(min(n, 1000))
    ratios, floor_s, engine_s = [], [], []
    load = os.getloadavg()[0]
    for i in range(rounds):
        if i % 2 == 0:
            f, e = timed(floor, n), timed(engine, n)
        else:
            e, f = timed(engine, n), timed(floor, n)
        floor_s.append(f)
        engine_s.append(e)
        ratios.append(e / f)
    pool.shutdown()
    return {
        "workload": workload, "n": n, "rounds": rounds,
        "ratio_median": statistics.median(ratios), "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "floor_us": statistics.median(floor_s) / n * 1e6,
        "headwater_us": statistics.median(engine_s) / n * 1e6,
        "load_before": load, "load_after": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="tasks per run (repeatable)")
    parser.add_argument("--workload", choices=WORKLOADS, action="append")
    parser.add_argument("--rounds", type=int, help="rounds per (workload, N); default 7 / 3")
    parser.add_argument("--level", default="WARNING", help="HEADWATER_LOGGING_LEVEL")
    parser.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--pin", type=int, metavar="CPU", help="run on this one CPU (Linux)")
    parser.add_argument("--json", action="store_true", help="one JSON object per row")
    args = parser.parse_args()
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})
    home = tempfile.mkdtemp(prefix="headwater-bench-")
    os.environ.update(HEADWATER_HOME=home, HEADWATER_LOGGING_LEVEL=args.level)
    os.environ.pop("HEADWATER_DATABASE_URL", None)
    if args.store == "memory":
        os.environ["HEADWATER_STORE"] = "memory"
    else:
        os.environ.pop("HEADWATER_STORE", None)
    sizes = args.n or [10_000, 100_000]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
          f"{f', pinned to CPU {args.pin}' if args.pin is not None else ''}; store "
          f"{args.store}; logging {args.level}", flush=True)
    print(f"{'workload':<9} {'N':>8} {'× floor':>8} {'min–max':>13} {'µs/task':>8} "
          f"{'floor µs':>9} {'load':>10}")
    for n in sizes:
        for workload in args.workload or WORKLOADS:
            rounds = args.rounds or (7 if n <= 10_000 else 3)
            row = measure(workload, n, rounds)
            if args.json:
                print(json.dumps(row), flush=True)
                continue
            print(f"{workload:<9} {n:>8,} {row['ratio_median']:>7.2f}× "
                  f"{row['ratio_min']:>5.2f}–{row['ratio_max']:<5.2f}× "
                  f"{row['headwater_us']:>8.1f} {row['floor_us']:>9.1f} "
                  f"{row['load_before']:>4.1f}→{row['load_after']:<4.1f}", flush=True)


if __name__ == "__main__":
    main()
