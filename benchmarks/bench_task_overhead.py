"""Per-task overhead of headwater: what a task run costs on top of the work it does.

Every case runs N calls of a trivial function `inc(x) = x + 1` and reports µs per call and the
ratio to its baseline:

    task call in a flow       N direct `inc_task(i)` calls inside one flow
      vs plain call           N `inc(i)` calls in a plain loop
    task call in a flow       (same measurement)
      vs thread pool          N `executor.submit(inc, i).result()` on a ThreadPoolExecutor
    task.submit + result      N `inc_task.submit(i).result()` inside one flow (if available)
      vs thread pool          (same baseline)
    task.map + result         one `inc_task.map(range(N)).result()` inside one flow
      vs executor.map         `list(executor.map(inc, range(N)))`

Each logging configuration runs in its own fresh process, so settings never leak between them:
`HEADWATER_LOGGING_LEVEL=WARNING` (no console output in the measurement), INFO with the console
sent to /dev/null (the cost of formatting two lines per task), and WARNING with
`HEADWATER_STORE=memory` (every record kept in a MemorySink).

    python benchmarks/bench_task_overhead.py              # N=10_000, best of 5
    python benchmarks/bench_task_overhead.py --n 2000 --repeat 3
    python benchmarks/bench_task_overhead.py --pin 0       # all threads on CPU 0 (Linux)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

CONFIGS: list[tuple[str, dict[str, str], bool]] = [
    # (label, environment, send stderr to /dev/null)
    ("WARNING", {"HEADWATER_LOGGING_LEVEL": "WARNING"}, False),
    ("INFO > /dev/null", {"HEADWATER_LOGGING_LEVEL": "INFO"}, True),
    (
        "WARNING, memory sink",
        {"HEADWATER_LOGGING_LEVEL": "WARNING", "HEADWATER_STORE": "memory"},
        False,
    ),
]


def inc(x: int) -> int:
    return x + 1


def best_of(repeat: int, fn: Callable[[], Any]) -> float:
    """The shortest wall time of `repeat` runs of `fn`, in seconds (after one warm-up run).

    The minimum, as `timeit` advises: noise from other processes only ever adds time, and a
    thread pool's round trip is bimodal on a busy machine (a sleeping worker has to be woken).
    """
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def worker(n: int, repeat: int) -> dict[str, float | None]:
    """Runs in a fresh process: measure every case, return seconds per case (None: n/a)."""
    from headwater import flow, task

    inc_task = task(inc)

    @flow
    def direct_calls() -> None:
        for i in range(n):
            inc_task(i)

    @flow
    def submit_calls() -> None:
        for i in range(n):
            inc_task.submit(i).result()

    @flow
    def map_calls() -> None:
        inc_task.map(range(n)).result()

    def plain_calls() -> None:
        for i in range(n):
            inc(i)

    results: dict[str, float | None] = {
        "plain": best_of(repeat, plain_calls),
        "task_call": best_of(repeat, direct_calls),
    }
    with ThreadPoolExecutor() as pool:
        results["pool_submit"] = best_of(
            repeat, lambda: [pool.submit(inc, i).result() for i in range(n)]
        )
        results["pool_map"] = best_of(repeat, lambda: list(pool.map(inc, range(n))))
    for name, fn in (("task_submit", submit_calls), ("task_map", map_calls)):
        try:
            results[name] = best_of(repeat, fn)
        except Exception as exc:  # not implemented yet, or broken: report, don't crash
            print(f"{name}: {type(exc).__name__}: {exc}", file=sys.__stdout__)
            results[name] = None
    return results


def run_config(
    env: dict[str, str], quiet: bool, n: int, repeat: int, pin: int | None
) -> dict[str, Any]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    full_env.update(env)
    pin_args = [] if pin is None else ["--pin", str(pin)]
    # The run store is on by default now: keep the benchmark's runs out of ~/.headwater.
    with tempfile.TemporaryDirectory(prefix="headwater-bench-") as home:
        full_env.setdefault("HEADWATER_HOME", home)
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                "--n",
                str(n),
                "--repeat",
                str(repeat),
                *pin_args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if quiet else None,
            text=True,
            env=full_env,
            check=True,
        )
    lines = proc.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(f"  note: {line}")
    return json.loads(lines[-1])  # type: ignore[no-any-return]


ROWS = [
    ("task call in a flow", "task_call", "plain call", "plain"),
    ("task call in a flow", "task_call", "pool submit+result", "pool_submit"),
    ("task.submit + result", "task_submit", "pool submit+result", "pool_submit"),
    ("task.map + result", "task_map", "executor.map", "pool_map"),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="calls per measurement")
    parser.add_argument("--repeat", type=int, default=5, help="measurements per case (best)")
    parser.add_argument(
        "--pin",
        type=int,
        metavar="CPU",
        help="run the measurements on this one CPU (Linux): steadier thread-pool figures",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        if args.pin is not None:
            os.sched_setaffinity(0, {args.pin})
        print(json.dumps(worker(args.n, args.repeat)))
        return

    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    pinned = f", pinned to CPU {args.pin}" if args.pin is not None else ""
    print(f"N={args.n:,} calls, best of {args.repeat} runs after a warm-up run{pinned}\n")
    header = (
        f"{'logging':<22} {'case':<22} {'µs/task':>9}   {'baseline':<20} {'µs/call':>8} "
        f"{'overhead µs':>12} {'ratio':>8}"
    )
    print(header)
    print("-" * len(header))
    for label, env, quiet in CONFIGS:
        seconds = run_config(env, quiet, args.n, args.repeat, args.pin)
        for case, key, base_label, base_key in ROWS:
            base_us = seconds[base_key] / args.n * 1e6
            if seconds.get(key) is None:
                print(f"{label:<22} {case:<22} {'n/a':>9}   {base_label:<20} {base_us:>8.2f}")
                continue
            us = seconds[key] / args.n * 1e6
            print(
                f"{label:<22} {case:<22} {us:>9.1f}   {base_label:<20} {base_us:>8.2f} "
                f"{us - base_us:>12.1f} {us / base_us:>7.1f}×"
            )


if __name__ == "__main__":
    main()
