"""The store writer's CPU per task run: fold wire tuples into batches, write them, commit.

    python benchmarks/bench_writer_cpu.py --n 10000                 # wall time per task run
    python benchmarks/bench_writer_cpu.py --n 10000 --save w.bin    # keep the records made
    python benchmarks/bench_writer_cpu.py --load w.bin --n 2000     # the first 2,000 of them

The records are real: a flow submits `--n` trivial tasks with the records kept in memory, and
each record is encoded as the store sink encodes it (`codec.encode`). The timed part is what
the writer process does with them (`BatchWriter.write`: `BatchBuilder.add_wire`, `build`, the
lean store's `write_batch` and its commit), into a fresh SQLite file (or `--pg URL`), `--batch`
records per transaction. For
instruction counts, run it twice under callgrind with `--load` of one saved file and two
sizes; (instructions of the bigger - the smaller) / (the difference in task runs) is the
writer's instructions per task run, without start-up and imports:

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python benchmarks/bench_writer_cpu.py --load w.bin --n 2000 --repeat 1
"""

from __future__ import annotations

import argparse
import marshal
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def make_records(n: int) -> list[tuple[Any, ...]]:
    """The wire tuples of one flow that submits `n` trivial tasks and waits for them."""
    os.environ.setdefault("HEADWATER_LOGGING_LEVEL", "WARNING")
    from headwater import flow, task
    from headwater.engine.runtime import use_sink
    from headwater.events import codec
    from headwater.events.memory import MemorySink

    @task
    def one(i: int) -> int:
        return i

    @flow
    def many(count: int) -> int:
        futures = [one.submit(i) for i in range(count)]
        return sum(future.result() for future in futures)

    sink = MemorySink()
    with use_sink(sink):
        many(n)
    return [item for item in map(codec.encode, sink.records) if item is not None]


def first_task_runs(items: list[tuple[Any, ...]], n: int) -> list[tuple[Any, ...]]:
    """The records of the flow run and of its first `n` task runs, in their order (each
    record of these flows names its run first, but a log line, which names its flow run
    first and then its task run). The same work for any `n`: under callgrind, the difference
    of two sizes is then the writer's alone."""
    from headwater.events import codec

    task_kind, log_kind = codec.KINDS["TaskRunCreated"], codec.KINDS["LogEmitted"]
    tasks = [item[1] for item in items if item[0] == task_kind]
    dropped = set(tasks[n:])
    return [item for item in items
            if item[1] not in dropped and not (item[0] == log_kind and item[2] in dropped)]


def write_all(items: list[tuple[Any, ...]], url: str, batch: int,
              pause_gc: bool) -> tuple[float, float]:
    """Write `items`, `batch` at a time, as the writer process does; the seconds it took, and
    the CPU seconds (user and system: SQLite's file writes are the kernel's work)."""
    from headwater.events._writer import BatchWriter
    from headwater.store.urls import writer_store

    def report(level: int, message: str) -> None:
        print(message, file=sys.stderr)

    try:
        writer = BatchWriter(lambda: writer_store(url), crash_after_seconds=3600.0,
                             report=report, pause_gc=pause_gc)
    except TypeError:  # a headwater from before `pause_gc`, for before/after figures
        writer = BatchWriter(lambda: writer_store(url), crash_after_seconds=3600.0,
                             report=report)
    writer.write(items[:1])  # the flow run: the store is opened, made and checked untimed
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(1, len(items), batch):
        writer.write(items[start:start + batch])
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if writer.stats.records != len(items) or writer.waiting:
        raise SystemExit(f"only {writer.stats.records} of {len(items)} records were written")
    writer.close(save=False)
    return elapsed, cpu


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog=__doc__.split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="task runs (default 10,000)")
    parser.add_argument("--batch", type=int, default=5_000,
                        help="records per transaction (default 5,000)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best is reported")
    parser.add_argument("--save", type=Path, help="write the records made to this file")
    parser.add_argument("--load", type=Path, help="read the records from this file (of at "
                        "least --n task runs) instead of running a flow")
    parser.add_argument("--gc", action="store_true", help="let the cyclic garbage collector "
                        "run while a batch is written (the writer process holds it off)")
    parser.add_argument("--pg", help="a PostgreSQL URL to write to (default: a SQLite file); "
                        "its tables must be empty or hold other runs")
    args = parser.parse_args()
    if args.load:
        items = first_task_runs(marshal.loads(args.load.read_bytes()), args.n)
    else:
        items = make_records(args.n)
    if args.save:
        args.save.write_bytes(marshal.dumps(items))
    best = best_cpu = float("inf")
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder:
            url = args.pg or f"sqlite:///{Path(folder) / 'headwater.db'}"
            elapsed, cpu = write_all(items, url, args.batch, not args.gc)
            best, best_cpu = min(best, elapsed), min(best_cpu, cpu)
    print(f"{args.n:,} task runs, {len(items):,} records, {args.batch:,} per batch: "
          f"{best * 1e6 / args.n:.2f} us per task run, {best_cpu * 1e6 / args.n:.2f} CPU us "
          f"(best of {args.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
