"""RayTaskRunner against bare `ray.remote`: what headwater adds per task on Ray.

Both sides run N trivial tasks `inc(x) = x + 1` on the same local Ray (`num_cpus=2`) in one
process, in interleaved rounds (bare, headwater, bare, headwater, ...), so a busy moment of the
machine hits both alike:

    bare ray.remote       `ray.get([inc_remote.remote(i) for i in range(N)])`
    headwater             a flow with `task_runner=RayTaskRunner()` running
                          `inc_task.map(range(N)).result()` (the runner uses that same Ray)

The headwater side runs with `HEADWATER_LOGGING_LEVEL=WARNING` and, in one fresh process,
`HEADWATER_STORE=memory`, in another the default SQLite store in a temporary HEADWATER_HOME
(both set before headwater is imported). Reported per side: median and min–max seconds per
round, the CPU time of this (the flow's) process per task (median round; Ray's workers and the
store's writer process are not in it), and the ratio of the medians headwater ÷ bare (target:
≤ 1.5×).

    python benchmarks/bench_ray.py                    # N=2,000, 5 rounds each, both stores
    python benchmarks/bench_ray.py --n 500 --rounds 3 --store memory
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

TARGET = 1.5
STORES = {
    "memory": "HEADWATER_STORE=memory",
    "sqlite": "SQLite store in a temporary HEADWATER_HOME",
}


def inc(x: int) -> int:
    return x + 1


def child(n: int, rounds: int, num_cpus: int) -> dict[str, Any]:
    """In a fresh process whose environment is set: the interleaved rounds, in seconds."""
    import ray

    from headwater import flow, task
    from headwater.runners.ray import RayTaskRunner

    ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level=logging.ERROR,
             log_to_driver=False)
    inc_remote = ray.remote(inc)
    inc_task = task(inc)

    @flow(task_runner=RayTaskRunner())
    def ray_map(k: int) -> Any:
        return inc_task.map(range(k)).result()

    def bare(k: int) -> Any:
        return ray.get([inc_remote.remote(i) for i in range(k)])

    def headwater(k: int) -> Any:
        return ray_map(k)

    cases = {"bare ray.remote": bare, "headwater RayTaskRunner": headwater}
    expected = [i + 1 for i in range(n)]
    for fn in cases.values():  # warm-up: Ray's workers start and import what they run
        assert fn(n) == expected
    seconds: dict[str, list[float]] = {label: [] for label in cases}
    cpu: dict[str, list[float]] = {label: [] for label in cases}  # this process, every thread
    for _ in range(rounds):
        for label, fn in cases.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            result = fn(n)
            seconds[label].append(time.perf_counter() - start)
            cpu[label].append(time.process_time() - cpu_start)
            assert result == expected, label
    ray.shutdown()
    return {"seconds": seconds, "cpu_seconds": cpu, "loadavg": os.getloadavg()}


def run_child(store: str, n: int, rounds: int, num_cpus: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env["HEADWATER_LOGGING_LEVEL"] = "WARNING"
    home = tempfile.mkdtemp(prefix="headwater-bench-ray-")
    env["HEADWATER_HOME"] = home
    if store == "memory":
        env["HEADWATER_STORE"] = "memory"
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--n", str(n), "--rounds", str(rounds),
             "--num-cpus", str(num_cpus)],
            capture_output=True, text=True, env=env, timeout=1800,
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].startswith("{"):
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"the {store} run failed (exit {done.returncode}):\n{tail}")
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def report(store: str, n: int, result: dict[str, Any]) -> float:
    print(f"store: {STORES[store]}; load average after: "
          f"{', '.join(f'{x:.2f}' for x in result['loadavg'])}")
    print(f"  {'case':<26} {'median s':>9} {'min s':>7} {'max s':>7} {'µs/task':>8} "
          f"{'CPU µs/task':>12}")
    medians: dict[str, float] = {}
    for label, times in result["seconds"].items():
        median = statistics.median(times)
        medians[label] = median
        cpu = statistics.median(result["cpu_seconds"][label])
        print(f"  {label:<26} {median:>9.3f} {min(times):>7.3f} {max(times):>7.3f} "
              f"{median / n * 1e6:>8.0f} {cpu / n * 1e6:>12.0f}")
    ratio = medians["headwater RayTaskRunner"] / medians["bare ray.remote"]
    verdict = "ok" if ratio <= TARGET else "MISSED"
    print(f"  headwater ÷ bare (medians): {ratio:.2f}× (target ≤ {TARGET}×: {verdict})")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2_000, help="tasks per round (default 2,000)")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per side")
    parser.add_argument("--num-cpus", type=int, default=2, help="ray.init(num_cpus=...)")
    parser.add_argument("--store", choices=["both", *STORES], default="both")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.n, args.rounds, args.num_cpus)), flush=True)
        return 0

    from importlib.metadata import version

    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs; "
          f"ray {version('ray')}")
    print(f"N={args.n:,} tasks per round, {args.rounds} interleaved rounds per side after a "
          f"warm-up round, ray.init(num_cpus={args.num_cpus}); HEADWATER_LOGGING_LEVEL=WARNING")
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    stores = list(STORES) if args.store == "both" else [args.store]
    for store in stores:
        print()
        report(store, args.n, run_child(store, args.n, args.rounds, args.num_cpus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
