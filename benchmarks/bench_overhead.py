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

With `--logging`, it measures instead what the default INFO level costs over WARNING: direct
task calls, with the `headwater` logger's level switched between WARNING and INFO from round
to round (alternating which goes first) and the console (stderr) sent to a file nobody reads;
the figure is the median of the per-round differences, in µs per task run.

    python benchmarks/bench_overhead.py                        # N = 10,000 and 100,000
    python benchmarks/bench_overhead.py --n 10000 --rounds 9 --level INFO --pin 0
    python benchmarks/bench_overhead.py --logging --n 10000 --rounds 7
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

from writer_cpus import other_cpus, place_writers, writer_cpu_seconds, writer_processes

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

    return {name: until_stored(fn) for name, fn in
            {"direct": direct, "submit": submit, "map": mapped, "subflow": subflow}.items()}


def until_stored(fn: Callable[[int], None]) -> Callable[[int], None]:
    """`fn`, then a wait until every record it made is stored. A flow returns once they are,
    unless the store falls more than `HEADWATER_FLUSH_TIMEOUT` (5 s) behind; then it returns
    anyway, and its time must still count the records it left to write."""
    from headwater.engine.runtime import current_runtime

    def call(n: int) -> None:
        fn(n)
        current_runtime().sink.flush(timeout=3600)

    return call


def timed(fn: Callable[[int], None], n: int) -> float:
    start = time.perf_counter()
    fn(n)
    return time.perf_counter() - start


def measure(workload: str, n: int, rounds: int,
            writer_cpus: set[int] | None = None) -> dict[str, Any]:
    pool = ThreadPoolExecutor()
    floor, engine = floors(pool)[workload], headwater_flows()[workload]
    floor(min(n, 1000))  # warm both up: imports, the pool's threads, the writer process
    engine(min(n, 1000))
    if writer_cpus is not None:
        place_writers(writer_cpus)
    ratios, floor_s, engine_s = [], [], []
    writer_s = 0.0
    load = os.getloadavg()[0]
    for i in range(rounds):
        if i % 2 == 0:
            f = timed(floor, n)
            before = writer_cpu_seconds()
            e = timed(engine, n)
            writer_s += writer_cpu_seconds() - before
        else:
            before = writer_cpu_seconds()
            e = timed(engine, n)
            writer_s += writer_cpu_seconds() - before
            f = timed(floor, n)
        floor_s.append(f)
        engine_s.append(e)
        ratios.append(e / f)
    pool.shutdown()
    return {
        "writer_processes": len(writer_processes()),
        "writer_cpu_us": writer_s / (n * rounds) * 1e6,
        "workload": workload, "n": n, "rounds": rounds,
        "ratio_median": statistics.median(ratios), "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "floor_us": statistics.median(floor_s) / n * 1e6,
        "headwater_us": statistics.median(engine_s) / n * 1e6,
        "load_before": load, "load_after": os.getloadavg()[0],
    }


def measure_logging(n: int, rounds: int, writer_cpus: set[int] | None = None
                    ) -> dict[str, Any]:
    """µs per direct task call at INFO minus at WARNING, round by round, in this process.

    Call with HEADWATER_LOGGING_LEVEL=INFO set, so the console handler is attached.
    """
    import logging

    with tempfile.TemporaryFile() as console:
        saved = os.dup(2)
        os.dup2(console.fileno(), 2)  # the console's lines go to a file nobody reads
        try:
            engine = headwater_flows()["direct"]
            engine(min(n, 1000))
            if writer_cpus is not None:
                place_writers(writer_cpus)
            logger = logging.getLogger("headwater")
            costs, warning_s, info_s, lines = [], [], [], [0, 0]
            for i in range(rounds):
                times = {}
                for level in (logging.WARNING, logging.INFO)[:: 1 if i % 2 == 0 else -1]:
                    logger.setLevel(level)
                    before = os.fstat(2).st_size
                    times[level] = timed(engine, n)
                    lines[level == logging.INFO] += os.fstat(2).st_size - before
                warning_s.append(times[logging.WARNING])
                info_s.append(times[logging.INFO])
                costs.append((times[logging.INFO] - times[logging.WARNING]) / n * 1e6)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    if lines[1] == 0 or lines[0] > 0:
        raise SystemExit(f"switching the 'headwater' logger's level did not switch the console "
                         f"lines (bytes at WARNING: {lines[0]}, at INFO: {lines[1]}): this "
                         f"measurement needs another way to set the level")
    return {
        "workload": "logging", "n": n, "rounds": rounds,
        "cost_us_median": statistics.median(costs), "cost_us_min": min(costs),
        "cost_us_max": max(costs),
        "warning_us": statistics.median(warning_s) / n * 1e6,
        "info_us": statistics.median(info_s) / n * 1e6,
        "console_bytes_per_run": lines[1] / rounds / n,
        "load_before": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="tasks per run (repeatable)")
    parser.add_argument("--workload", choices=WORKLOADS, action="append")
    parser.add_argument("--rounds", type=int,
                        help="rounds per (workload, N); default 11 / 3 (N up to 10,000 / "
                             "more), 15 with --logging")
    parser.add_argument("--level", default="WARNING", help="HEADWATER_LOGGING_LEVEL")
    parser.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--pin", type=int, metavar="CPU", help="run on this one CPU (Linux)")
    parser.add_argument(
        "--writer-cpu", choices=("other", "same"), default="other",
        help="with --pin: the store's writer process on the other CPUs (default; the writer "
             "process exists to take recording off the flow's CPU) or on the pinned one")
    parser.add_argument("--json", action="store_true", help="one JSON object per row")
    parser.add_argument("--logging", action="store_true",
                        help="measure INFO logging over WARNING instead (sets --level INFO)")
    args = parser.parse_args()
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})
    home = tempfile.mkdtemp(prefix="headwater-bench-")
    if args.logging:
        args.level = "INFO"
    os.environ.update(HEADWATER_HOME=home, HEADWATER_LOGGING_LEVEL=args.level)
    os.environ.pop("HEADWATER_DATABASE_URL", None)
    if args.store == "memory":
        os.environ["HEADWATER_STORE"] = "memory"
    else:
        os.environ.pop("HEADWATER_STORE", None)
    sizes = args.n or [10_000, 100_000]
    writer_cpus = None
    if args.pin is not None and args.writer_cpu == "other" and args.store == "sqlite":
        writer_cpus = other_cpus(args.pin)
    if args.logging:
        for n in sizes:
            row = measure_logging(n, args.rounds or 15, writer_cpus)
            print(json.dumps(row) if args.json else
                  f"INFO over WARNING, N = {n:,}: {row['cost_us_median']:.1f} µs per task run "
                  f"({row['cost_us_min']:.1f}–{row['cost_us_max']:.1f}); WARNING "
                  f"{row['warning_us']:.1f} µs, INFO {row['info_us']:.1f} µs", flush=True)
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
          f"{f', pinned to CPU {args.pin}' if args.pin is not None else ''}"
          f"{f' (writer on CPUs {sorted(writer_cpus)})' if writer_cpus else ''}; store "
          f"{args.store}; logging {args.level}", flush=True)
    print(f"{'workload':<9} {'N':>8} {'× floor':>8} {'min–max':>13} {'µs/task':>8} "
          f"{'floor µs':>9} {'writer µs':>9} {'load':>10}")
    for n in sizes:
        for workload in args.workload or WORKLOADS:
            rounds = args.rounds or (11 if n <= 10_000 else 3)
            row = measure(workload, n, rounds, writer_cpus)
            if args.json:
                print(json.dumps(row), flush=True)
                continue
            print(f"{workload:<9} {n:>8,} {row['ratio_median']:>7.2f}× "
                  f"{row['ratio_min']:>5.2f}–{row['ratio_max']:<5.2f}× "
                  f"{row['headwater_us']:>8.1f} {row['floor_us']:>9.1f} "
                  f"{row['writer_cpu_us']:>9.1f} "
                  f"{row['load_before']:>4.1f}→{row['load_after']:<4.1f}", flush=True)


if __name__ == "__main__":
    main()
