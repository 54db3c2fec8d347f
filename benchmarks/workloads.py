"""One benchmark workload, run in a fresh process by `run_all.py`; prints one JSON line.

This file imports only the standard library and the engine it is asked to measure, so the same
file runs under headwater's interpreter and under another one where only Prefect is installed.
Every workload does the same work, `inc(x) = x + 1`, N times:

    direct    N sequential calls `inc_task(i)` inside one flow
    submit    N `inc_task.submit(i)` inside one flow, then every `.result()`
    map       one `inc_task.map(range(N)).result()` inside one flow
    subflow   N sequential calls of a flow `inc_flow(i)` inside one parent flow
    dask-threads, dask-processes
              `inc_task.map(range(N)).result()` with a `DaskTaskRunner` connected to a
              `LocalCluster(processes=False|True)`, and, on the same cluster, a bare
              `client.gather(client.map(inc, range(N)))` (both open their own `Client`)

The engine `threadpool` is the floor: the same work on a `concurrent.futures.ThreadPoolExecutor`
(`submit(...).result()` one at a time for direct and subflow, `submit` all then `result` for
submit, `executor.map` for map and the Dask workloads). Its pool is made before the clock starts.

The JSON line holds, per measured case, the best wall time of `--repeat` runs (after one
warm-up run with `--warmup` items, default at most 1,000), the process's RSS before the
workload, and its peak RSS after it (`VmHWM` on Linux, else `getrusage().ru_maxrss`). One
process runs one workload at one N, so the peak RSS of "100,000 mapped tasks in one flow" is
that workload's own.

    python benchmarks/workloads.py --engine headwater --workload map --n 10000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from writer_cpus import other_cpus, place_writers

WORKLOADS = ("direct", "submit", "map", "subflow", "dask-threads", "dask-processes")
ENGINES = ("threadpool", "headwater", "prefect")
WARMUP_N = 1_000
WRITER_CPUS: set[int] | None = None  # where the writer process goes once started (--pin)


def inc(x: int) -> int:
    return x + 1


def current_rss_mb() -> float:
    """Resident set size now, from /proc (Linux); the peak so far elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far.

    On Linux, `VmHWM` from /proc: `getrusage(RUSAGE_SELF).ru_maxrss` would do, except that
    Linux carries it over `fork`+`exec`, so a child started by a bigger parent reports the
    parent's peak. `VmHWM` belongs to the new address space and starts from zero at `exec`.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB
    except (OSError, ValueError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, else KiB


def best_of(repeat: int, warmup: Callable[[], Any], fn: Callable[[], Any]) -> float:
    """The shortest wall time of `repeat` runs of `fn`, in seconds, after one `warmup()` run.

    The minimum, as `timeit` advises: noise from other processes only ever adds time. When
    pinned, the store's writer process (started by the warm-up) moves to the other CPUs
    unless `--writer-cpu same` (see `writer_cpus.py`).
    """
    warmup()
    if WRITER_CPUS is not None:
        place_writers(WRITER_CPUS)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def threadpool_cases(workload: str, n: int) -> dict[str, Callable[[int], Any]]:
    pool = ThreadPoolExecutor()

    def sequential(k: int) -> None:
        for i in range(k):
            pool.submit(inc, i).result()

    def submit_all(k: int) -> None:
        futures = [pool.submit(inc, i) for i in range(k)]
        for f in futures:
            f.result()

    def mapped(k: int) -> None:
        list(pool.map(inc, range(k)))

    if workload in ("direct", "subflow"):
        return {"ThreadPoolExecutor": sequential}
    if workload == "submit":
        return {"ThreadPoolExecutor": submit_all}
    return {"ThreadPoolExecutor": mapped}


def engine_cases(engine: str, workload: str) -> dict[str, Callable[[int], Any]]:
    """The flows of `engine` (headwater or prefect), written once for both."""
    if engine == "headwater":
        from headwater import flow, task
    else:
        from prefect import flow, task

    inc_task = task(inc)
    inc_flow = flow(inc)

    @flow
    def direct_calls(n: int) -> None:
        for i in range(n):
            inc_task(i)

    @flow
    def submit_calls(n: int) -> None:
        futures = [inc_task.submit(i) for i in range(n)]
        for f in futures:
            f.result()

    @flow
    def map_calls(n: int) -> None:
        inc_task.map(range(n)).result()

    @flow
    def subflow_calls(n: int) -> None:
        for i in range(n):
            inc_flow(i)

    flows = {
        "direct": direct_calls,
        "submit": submit_calls,
        "map": map_calls,
        "subflow": subflow_calls,
    }
    if engine == "headwater":
        return {engine: until_stored(flows[workload])}
    return {engine: flows[workload]}


def until_stored(fn: Callable[[int], Any]) -> Callable[[int], Any]:
    """`fn`, then a wait until every record it made is stored: a flow returns once its records
    are, or after `HEADWATER_FLUSH_TIMEOUT` (5 s) when the store falls that far behind (a
    million runs on a busy machine), and its time must not leave that backlog out."""
    from headwater.engine.runtime import current_runtime

    def call(n: int) -> Any:
        value = fn(n)
        current_runtime().sink.flush(timeout=3600)
        return value

    return call


def dask_runner_class(engine: str) -> Any:
    if engine == "headwater":
        from headwater.runners.dask import DaskTaskRunner

        return DaskTaskRunner
    from prefect_dask import DaskTaskRunner  # type: ignore[import-not-found]

    return DaskTaskRunner


def dask_cases(engine: str, processes: bool, stack: list[Any]) -> dict[str, Callable[[int], Any]]:
    """`client.map` and the engine's `DaskTaskRunner`, both on one `LocalCluster`."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=processes,
        dashboard_address=None,
        silence_logs=40,  # logging.ERROR
    )
    stack.append(cluster)
    address = cluster.scheduler_address

    def bare(k: int) -> None:
        with Client(address, set_as_default=False) as client:
            client.gather(client.map(inc, range(k), pure=False))

    cases: dict[str, Callable[[int], Any]] = {"dask client.map": bare}
    try:
        runner_class = dask_runner_class(engine)
    except ImportError as exc:
        print(f"{engine} DaskTaskRunner: {type(exc).__name__}: {exc}", file=sys.stderr)
        return cases
    if engine == "headwater":
        from headwater import flow, task
    else:
        from prefect import flow, task
    inc_task = task(inc)

    @flow(task_runner=runner_class(address=address))
    def dask_map(n: int) -> None:
        inc_task.map(range(n)).result()

    cases[f"{engine} DaskTaskRunner"] = dask_map
    return cases


def run(engine: str, workload: str, n: int, repeat: int, warmup: int) -> dict[str, Any]:
    stack: list[Any] = []
    rss_start = current_rss_mb()
    if workload.startswith("dask-"):
        if engine == "threadpool":
            cases = threadpool_cases("map", n)
        else:
            cases = dask_cases(engine, workload == "dask-processes", stack)
    elif engine == "threadpool":
        cases = threadpool_cases(workload, n)
    else:
        cases = engine_cases(engine, workload)
    rss_ready = current_rss_mb()
    warm = min(n, warmup)
    seconds: dict[str, float | None] = {}
    errors: dict[str, str] = {}
    for label, fn in cases.items():
        try:
            seconds[label] = best_of(repeat, lambda fn=fn: fn(warm), lambda fn=fn: fn(n))
        except Exception as exc:  # not implemented, or broken: report, don't crash the suite
            seconds[label] = None
            errors[label] = f"{type(exc).__name__}: {exc}"[:300]
    peak = peak_rss_mb()
    for item in reversed(stack):
        item.close()
    return {
        "engine": engine,
        "workload": workload,
        "n": n,
        "repeat": repeat,
        "seconds": seconds,
        "errors": errors,
        "rss_start_mb": rss_start,
        "rss_ready_mb": rss_ready,
        "peak_rss_mb": peak,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=ENGINES, required=True)
    parser.add_argument("--workload", choices=WORKLOADS, required=True)
    parser.add_argument("--n", type=int, required=True, help="tasks per measured run")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs (best is kept)")
    parser.add_argument(
        "--warmup", type=int, default=WARMUP_N, help="items in the warm-up run (at most --n)"
    )
    parser.add_argument("--pin", type=int, metavar="CPU", help="run on this one CPU (Linux)")
    parser.add_argument(
        "--writer-cpu", choices=("other", "same"), default="other",
        help="with --pin: the store's writer process on the other CPUs (default) or the same")
    args = parser.parse_args(argv)
    global WRITER_CPUS
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})
        if args.writer_cpu == "other":
            WRITER_CPUS = other_cpus(args.pin)
    report = run(args.engine, args.workload, args.n, args.repeat, args.warmup)
    sys.stdout.flush()
    print(json.dumps(report), file=sys.__stdout__, flush=True)


if __name__ == "__main__":
    main()
