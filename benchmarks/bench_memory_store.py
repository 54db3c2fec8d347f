"""Does `HEADWATER_STORE=memory` keep its speed as it fills? µs per task run, batch by batch.

A fresh process runs `--batches` flows of `--batch` direct task calls each (default 10 ×
100,000: 1,000,000 task runs, 4,000,000 records kept), with `HEADWATER_STORE=memory` and
`HEADWATER_LOGGING_LEVEL=WARNING`, and reports per flow: µs per task run, the task runs kept so
far, the CPU µs per task run (the process's CPU time: steadier than wall time on a busy
machine), the CPU seconds the cyclic garbage collector spent during the flow (`gc.callbacks`),
its full collections, and the RSS. It does so twice, each in its own process:

    frozen     the memory store as shipped: its sink freezes kept records for the collector
               after full collections (`MemorySink(freeze_every=...)`, see events/memory.py)
    unfrozen   a plain `MemorySink()`, as the memory store was before: the collector walks
               every kept record (and its states and ids) on each full collection

The figures to read: the last three batches ÷ the first three (the mean µs of each three), in
CPU time (flat is ~1×), and the collector's
CPU µs per task run.

    python benchmarks/bench_memory_store.py                        # 10 x 100,000, both modes
    python benchmarks/bench_memory_store.py --batch 20000 --batches 5 --mode frozen --json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return float("nan")


class GcTimer:
    """CPU seconds the cyclic GC spent, and its full (generation 2) collections, since `reset()`.

    CPU time of the collecting thread, not wall time: on a busy machine the wall time of a
    collection also counts the other processes that ran meanwhile.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.thread_time()
        else:
            self.seconds += time.thread_time() - self._start
            self.full += info["generation"] == 2

    def reset(self) -> None:
        self.seconds, self.full = 0.0, 0


MODES = ("frozen", "unfrozen")


def measure(batch: int, batches: int, mode: str) -> dict[str, Any]:
    """Run the batches in this process; the environment must already be set."""
    from headwater import flow, task
    from headwater.engine.runtime import current_runtime, use_sink
    from headwater.events.memory import MemorySink

    if mode == "unfrozen":
        with use_sink(MemorySink()):
            return measure(batch, batches, "frozen") | {"mode": mode}

    @task
    def inc(x: int) -> int:
        return x + 1

    @flow
    def direct(n: int) -> None:
        for i in range(n):
            inc(i)

    direct(10)  # warm-up: imports, the runtime and its sink
    timer = GcTimer()
    rows = []
    for b in range(batches):
        timer.reset()
        start, cpu = time.perf_counter(), time.process_time()
        direct(batch)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        rows.append({
            "batch": b + 1, "task_runs_kept": (b + 1) * batch,
            "us_per_task": seconds / batch * 1e6, "cpu_us_per_task": cpu / batch * 1e6,
            "gc_seconds": timer.seconds,
            "full_collections": timer.full, "rss_mb": rss_mb(),
        })
    sink = current_runtime().sink
    # Three batches a side, not one: a batch's CPU time depends on whether a full collection
    # fell in it (two batches in three, here), and on this kind of shared machine one batch
    # alone varies by half from run to run (measured: last ÷ first 0.81× and 1.48× in two runs
    # of the same code, with no trend from batch 2 to 9 in either). Means, so that every
    # collection in a span counts (a median picks a batch with or without one by chance);
    # the full collections in each span are reported beside them.
    k = max(1, min(3, len(rows) // 2))

    def ends(key: str) -> float:
        return (statistics.fmean(r[key] for r in rows[-k:])
                / statistics.fmean(r[key] for r in rows[:k]))

    return {"mode": mode, "batch": batch, "rows": rows, "loadavg": os.getloadavg(),
            "records_kept": len(sink) if isinstance(sink, MemorySink) else None,
            "freeze_every": getattr(sink, "freeze_every", None),
            "batches_compared": k,
            "full_collections_first_last": [sum(r["full_collections"] for r in rows[:k]),
                                            sum(r["full_collections"] for r in rows[-k:])],
            "last_over_first": ends("us_per_task"),
            "cpu_last_over_first": ends("cpu_us_per_task"),
            "gc_us_per_task": sum(r["gc_seconds"] for r in rows) / (batch * batches) * 1e6}


def run_child(mode: str, batch: int, batches: int) -> dict[str, Any]:
    """`measure` in a fresh process (its own heap and collector), as JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    home = tempfile.mkdtemp(prefix="headwater-bench-")
    env.update(HEADWATER_STORE="memory", HEADWATER_LOGGING_LEVEL="WARNING", HEADWATER_HOME=home)
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--batch", str(batch),
             "--batches", str(batches)],
            capture_output=True, text=True, env=env, timeout=3600,
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].startswith("{"):
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        raise SystemExit(f"the {mode} run failed (exit {done.returncode}):\n{tail}")
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def print_mode(result: dict[str, Any]) -> None:
    print(f"{result['mode']} (freeze_every={result['freeze_every']}):")
    print(f"  {'batch':>5} {'task runs kept':>15} {'µs/task':>8} {'CPU µs':>7} {'GC CPU s':>8} "
          f"{'full GCs':>8} {'RSS MB':>7}")
    for r in result["rows"]:
        print(f"  {r['batch']:>5} {r['task_runs_kept']:>15,} {r['us_per_task']:>8.1f} "
              f"{r['cpu_us_per_task']:>7.1f} {r['gc_seconds']:>8.2f} {r['full_collections']:>8} "
              f"{r['rss_mb']:>7.0f}")
    k = result["batches_compared"]
    first, last = result["full_collections_first_last"]
    print(f"  last {k} ÷ first {k} (means; full collections {first} and {last}): "
          f"{result['last_over_first']:.2f}× wall, "
          f"{result['cpu_last_over_first']:.2f}× CPU; the collector: "
          f"{result['gc_us_per_task']:.1f} µs per task run; records kept: "
          f"{result['records_kept']:,}; load average after {result['loadavg'][0]:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=100_000, help="task runs per flow")
    parser.add_argument("--batches", type=int, default=10, help="flows, one after another")
    parser.add_argument("--mode", choices=("both", *MODES), default="both")
    parser.add_argument("--json", action="store_true", help="print one JSON object per mode")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.batch, args.batches, args.child)), flush=True)
        return 0
    if not args.json:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; HEADWATER_STORE=memory; "
              f"{args.batches} flows of {args.batch:,} direct task calls per mode; load average "
              f"{os.getloadavg()[0]:.1f} before")
    for mode in MODES if args.mode == "both" else (args.mode,):
        result = run_child(mode, args.batch, args.batches)
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            print_mode(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
