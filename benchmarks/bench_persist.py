"""What persisting results costs per task run (what makes a run resumable), as ratios measured
in one process, interleaved.

Each round runs, in rotating order, the same N tiny tasks three ways: a bare
`ThreadPoolExecutor` (the floor), a headwater flow, and the same flow with
`persist_result=True` (each result written to the local result storage under its cache key,
as `headwater runs resume` needs). Every headwater run is recorded in a SQLite store in a
temporary HEADWATER_HOME. Figures are medians of the per-round ratios, with min–max.

    python benchmarks/bench_persist.py                   # N = 2,000, 7 rounds
    python benchmarks/bench_persist.py --n 10000 --rounds 5 --pin 0
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def inc(x: int) -> int:
    return x + 1


def arms(pool: ThreadPoolExecutor, workload: str) -> dict[str, Callable[[int], None]]:
    from headwater import flow, task

    inc_task = task(inc)

    def floor(n: int) -> None:
        if workload == "direct":
            for i in range(n):
                pool.submit(inc, i).result()
        else:
            for future in [pool.submit(inc, i) for i in range(n)]:
                future.result()

    def body(n: int) -> None:
        if workload == "direct":
            for i in range(n):
                inc_task(i)
        else:
            for future in [inc_task.submit(i) for i in range(n)]:
                future.result()

    return {"floor": floor, "plain": flow(name="plain")(body),
            "persisted": flow(name="persisted", persist_result=True)(body)}


def timed(fn: Callable[[int], None], n: int) -> float:
    start = time.perf_counter()
    fn(n)
    return time.perf_counter() - start


def measure(workload: str, n: int, rounds: int) -> dict[str, Any]:
    pool = ThreadPoolExecutor()
    runs = arms(pool, workload)
    for fn in runs.values():  # warm up: imports, threads, the writer process, storage folder
        fn(min(n, 200))
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    load = os.getloadavg()[0]
    for i in range(rounds):
        order = names[i % 3:] + names[:i % 3]
        for name in order:
            seconds[name].append(timed(runs[name], n))
    pool.shutdown()

    def ratio(a: str, b: str) -> tuple[float, float, float]:
        values = [x / y for x, y in zip(seconds[a], seconds[b], strict=True)]
        return statistics.median(values), min(values), max(values)

    return {
        "workload": workload, "n": n, "rounds": rounds,
        "plain": ratio("plain", "floor"), "persisted": ratio("persisted", "floor"),
        "cost": ratio("persisted", "plain"),
        "us": {k: statistics.median(v) / n * 1e6 for k, v in seconds.items()},
        "load": (load, os.getloadavg()[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="tasks per run")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--pin", type=int, metavar="CPU", help="run on this one CPU (Linux)")
    args = parser.parse_args()
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})
    home = tempfile.mkdtemp(prefix="headwater-bench-")
    os.environ.update(HEADWATER_HOME=home, HEADWATER_LOGGING_LEVEL="WARNING")
    for name in ("HEADWATER_DATABASE_URL", "HEADWATER_STORE",
                 "HEADWATER_RESULTS_PERSIST_BY_DEFAULT"):
        os.environ.pop(name, None)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
          f"{f', pinned to CPU {args.pin}' if args.pin is not None else ''}; SQLite store; "
          f"N = {args.n:,}, {args.rounds} rounds")
    print(f"{'workload':<8} {'plain × floor':>18} {'persisted × floor':>20} "
          f"{'persisted × plain':>20} {'µs/task floor/plain/persisted':>31} {'load':>10}")
    for workload in ("direct", "submit"):
        row = measure(workload, args.n, args.rounds)
        cells = [f"{m:.2f}× ({lo:.2f}–{hi:.2f})" for m, lo, hi in
                 (row["plain"], row["persisted"], row["cost"])]
        us = row["us"]
        print(f"{workload:<8} {cells[0]:>18} {cells[1]:>20} {cells[2]:>20} "
              f"{us['floor']:>9.1f} /{us['plain']:>7.1f} /{us['persisted']:>7.1f}      "
              f"{row['load'][0]:>4.1f}→{row['load'][1]:<4.1f}", flush=True)


if __name__ == "__main__":
    main()
