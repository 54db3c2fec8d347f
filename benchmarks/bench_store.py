"""Run store benchmarks: how fast the store sink writes, and what recording costs per task.

Part 1, writes per second: N task runs' worth of records (TaskRunCreated, three StateChanged,
one LogEmitted: 5 records a task run) are emitted into a `StoreSink`, then flushed. Reported:
records/s from the first emit to the end of the flush, the longest transaction, and the batch
window (the longest any record waited between emit and commit).

Part 2, per-task overhead: in a fresh process per configuration, one flow makes N direct task
calls; the time includes the flush at the end of the flow. Configurations: HEADWATER_STORE=
memory (records kept in a list), the default SQLite store, PostgreSQL. Each process also times
N `ThreadPoolExecutor.submit(...).result()` round trips, the baseline every ratio refers to.
Each store runs with both writers: the writer process (the default) and the writer thread
(`HEADWATER_STORE_WRITER=thread`). "window" is the longest a record waited between being made
and being committed; "sent" (writer process only) the longest it waited in the flow's process
before reaching the writer process, which is what a kill -9 of the flow's process can lose.

Part 3, the same comparison interleaved: one process takes turns between a memory sink, the
writer process and the writer thread for `--rounds` rounds (ratios are taken round by round,
so the drifts of a shared VM hit all three alike).

    python benchmarks/bench_store.py                        # N = 10,000 and 100,000
    python benchmarks/bench_store.py --n 10000 --repeat 3
    python benchmarks/bench_store.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def inc(x: int) -> int:
    return x + 1


# -- part 1: records per second -------------------------------------------------------------------
def records_for(n_tasks: int) -> list[Any]:
    from headwater.core.states import Completed, Pending, Running
    from headwater.events.records import FlowRunCreated, LogEmitted, StateChanged, TaskRunCreated

    flow_id = uuid.uuid4()
    records: list[Any] = [FlowRunCreated(flow_id, "bench", "bench", None, {}, frozenset(),
                                         None, None, time.time())]
    for i in range(n_tasks):
        task_id = uuid.uuid4()
        records += [
            TaskRunCreated(task_id, f"inc-{i}", "inc", "bench.inc", flow_id, {"x": i},
                           frozenset(), time.time()),
            StateChanged(task_id, "task", Pending(), 0),
            StateChanged(task_id, "task", Running(), 1),
            StateChanged(task_id, "task", Completed(data=i + 1), 1),
            LogEmitted(flow_id, task_id, "headwater.task_runs", 20, "Finished", time.time()),
        ]
    return records


def write_rate(url: str, n_tasks: int, writer: str) -> dict[str, float]:
    from headwater.events.store import StoreSink
    from headwater.store import sql_store

    store = sql_store(url)
    store.upgrade()
    store.close()
    sink = StoreSink(url, writer=writer)
    records = records_for(n_tasks)
    emit = sink.emit
    start = time.perf_counter()
    for record in records:
        emit(record)
    sink.flush()
    seconds = time.perf_counter() - start
    stats = sink.stats
    sink.close()
    return {"records": len(records), "seconds": seconds, "per_second": len(records) / seconds,
            "batches": stats.batches, "max_write": stats.max_write,
            "max_window": stats.max_window, "batch_seconds": sink.batch_seconds}


def pg_schema_url(dsn: str) -> tuple[str, Any]:
    """A URL for a fresh schema in `dsn`, and a function that drops it."""
    import psycopg

    schema = f"hw_bench_{uuid.uuid4().hex[:8]}"
    plain = dsn.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}options=-csearch_path%3D{schema}", drop


# -- part 2: per-task overhead ----------------------------------------------------------------
def best_of(repeat: int, fn: Any) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def worker(n: int, repeat: int) -> dict[str, Any]:
    from headwater import flow, task
    from headwater.engine.runtime import current_sink

    inc_task = task(inc)

    @flow
    def direct_calls() -> None:
        for i in range(n):
            inc_task(i)

    direct_calls()  # warm-up: the store is opened and migrated here, not in the measurement
    if hasattr(current_sink(), "clear"):
        current_sink().clear()  # type: ignore[attr-defined]

    def measured() -> None:
        direct_calls()
        if hasattr(current_sink(), "clear"):
            current_sink().clear()  # type: ignore[attr-defined]  # memory: don't grow

    task_seconds = best_of(repeat, measured)
    with ThreadPoolExecutor() as pool:
        pool_seconds = best_of(repeat, lambda: [pool.submit(inc, i).result() for i in range(n)])
    stats = getattr(current_sink(), "stats", None)
    return {"task": task_seconds, "pool": pool_seconds,
            "max_window": getattr(stats, "max_window", None),
            "send_window": getattr(current_sink(), "max_send_window", None)}


def run_worker(env: dict[str, str], n: int, repeat: int, level: str) -> dict[str, Any]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    full.update(env)
    full["HEADWATER_LOGGING_LEVEL"] = level
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", "--n", str(n), "--repeat", str(repeat)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=full, check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# -- part 3: the same, interleaved in one process -----------------------------------------------
def interleaved(n: int, rounds: int, url: str) -> dict[str, list[float]]:
    """Per-task µs of N direct task calls into a memory sink, the writer process and the writer
    thread, taking turns in one process for `rounds` rounds: slow drifts of a shared VM hit
    all three alike, which separate processes minutes apart do not."""
    from headwater import flow, task
    from headwater.engine.runtime import use_sink
    from headwater.events.memory import MemorySink
    from headwater.events.store import StoreSink

    inc_task = task(inc)

    @flow
    def direct_calls() -> None:
        for i in range(n):
            inc_task(i)

    memory = MemorySink()
    sinks = {"memory": memory, "process": StoreSink(url, writer="process"),
             "thread": StoreSink(url, writer="thread")}
    for sink in sinks.values():  # warm-up: stores opened, writer process started
        with use_sink(sink):
            direct_calls()
    memory.clear()
    times: dict[str, list[float]] = {name: [] for name in sinks}
    for _ in range(rounds):
        for name, sink in sinks.items():
            started = time.perf_counter()
            with use_sink(sink):  # flushes at the end: the time until the history is durable
                direct_calls()
            memory.clear()
            times[name].append((time.perf_counter() - started) / n * 1e6)
    for sink in sinks.values():
        sink.close()
    return times


def print_interleaved(label: str, n: int, times: dict[str, list[float]]) -> None:
    mem = times["memory"]
    for name, values in times.items():
        ratios = [v / m for v, m in zip(values, mem, strict=True)]
        print(f"{n:>8,} {label + ', ' + name:<22} {min(values):>8.1f} "
              f"{statistics.median(values):>8.1f} {min(values) / min(mem):>6.2f}× "
              f"{statistics.median(ratios):>6.2f}× "
              f"{min(ratios):>5.2f}–{max(ratios):.2f}")


def run_interleaved(url: str, n: int, rounds: int, level: str) -> dict[str, list[float]]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    full["HEADWATER_LOGGING_LEVEL"] = level
    proc = subprocess.run(
        [sys.executable, __file__, "--interleaved-worker", url, "--n", str(n),
         "--rounds", str(rounds)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=full, check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, action="append", help="task runs (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per case (best)")
    parser.add_argument("--pg", default=os.environ.get("HEADWATER_TEST_PG_DSN", DEFAULT_PG),
                        help="PostgreSQL URL ('' to skip PostgreSQL)")
    parser.add_argument("--level", default="WARNING",
                        help="HEADWATER_LOGGING_LEVEL of the per-task runs (INFO: the default "
                             "user experience, console sent to /dev/null)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds of the interleaved comparison (0 to skip it)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--interleaved-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = args.n or [10_000, 100_000]
    if args.interleaved_worker:
        print(json.dumps(interleaved(sizes[0], args.rounds, args.interleaved_worker)))
        return
    if args.worker:
        print(json.dumps(worker(sizes[0], args.repeat)))
        return

    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    home = tempfile.mkdtemp(prefix="headwater-bench-")
    targets: list[tuple[str, str, Any]] = [("SQLite", f"sqlite:///{home}/write-rate.db", None)]
    if args.pg:
        try:
            url, drop = pg_schema_url(args.pg)
            targets.append(("PostgreSQL", url, drop))
        except Exception as exc:
            print(f"PostgreSQL skipped: {type(exc).__name__}: {exc}")

    print("\nWrites: records emitted into a StoreSink, then flushed (5 records per task run)")
    print(f"{'store':<20} {'records':>9} {'seconds':>8} {'records/s':>10} {'batches':>8} "
          f"{'max txn s':>9} {'window s':>9}")
    for (label, url, _), writer in itertools.product(targets, ("process", "thread")):
        r = write_rate(url, max(sizes) // 2, writer)
        print(f"{label + ', ' + writer:<20} {r['records']:>9,} {r['seconds']:>8.2f} "
              f"{r['per_second']:>10,.0f} "
              f"{r['batches']:>8} {r['max_write']:>9.3f} {r['max_window']:>9.3f}")

    configs = [("memory (HEADWATER_STORE=memory)", {"HEADWATER_STORE": "memory"}),
               ("SQLite, writer process (default)", {"HEADWATER_HOME": home}),
               ("SQLite, writer thread", {"HEADWATER_HOME": home,
                                          "HEADWATER_STORE_WRITER": "thread"})]
    for label, url, _ in targets[1:]:
        configs.append((f"{label}, writer process", {"HEADWATER_DATABASE_URL": url}))
        configs.append((f"{label}, writer thread", {"HEADWATER_DATABASE_URL": url,
                                                     "HEADWATER_STORE_WRITER": "thread"}))
    print(f"\nPer-task overhead: N direct task calls in one flow, {args.level} logging, "
          f"incl. flush")
    print(f"{'N':>8} {'sink':<34} {'µs/task':>8} {'pool µs':>8} {'× pool':>7} {'× memory':>9} "
          f"{'window s':>9} {'sent s':>7}")
    for n in sizes:
        memory_us = None
        for label, env in configs:
            r = run_worker(env, n, args.repeat, args.level)
            us, pool_us = r["task"] / n * 1e6, r["pool"] / n * 1e6
            memory_us = memory_us or us
            window = "-" if r["max_window"] is None else f"{r['max_window']:.3f}"
            sent = "-" if not r.get("send_window") else f"{r['send_window']:.3f}"
            print(f"{n:>8,} {label:<34} {us:>8.1f} {pool_us:>8.1f} {us / pool_us:>6.2f}× "
                  f"{us / memory_us:>8.2f}× {window:>9} {sent:>7}")
    print(f"\nInterleaved in one process, {args.rounds} rounds of memory / writer process / "
          f"writer thread, {args.level} logging, incl. flush")
    print(f"{'N':>8} {'sink':<22} {'min µs':>8} {'med µs':>8} {'min×':>7} {'med×':>7} "
          f"{'range':>10}")
    for n in sizes:
        for label, url, _ in targets:
            if args.rounds:
                print_interleaved(label, n, run_interleaved(url, n, args.rounds, args.level))
    for _, _, drop in targets:
        if drop is not None:
            drop()


if __name__ == "__main__":
    main()
