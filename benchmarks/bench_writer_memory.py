"""The writer process's memory across many flows: RSS after each flow, first vs. last.

    python benchmarks/bench_writer_memory.py                      # SQLite, 100 flows of 10,000
    python benchmarks/bench_writer_memory.py --pg postgresql+psycopg://user@host/db
    python benchmarks/bench_writer_memory.py --flows 20 --tasks 2000

Each flow runs `--tasks` direct task calls and is flushed before the next starts; the writer
process's RSS (`VmRSS` in /proc) is read after every flow. The promise: the last figure is at
most 10% above the figure after the first flow (the writer's imports and caches are warm by
then). Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--pg", help="a PostgreSQL URL (default: a SQLite file)")
    args = parser.parse_args()
    os.environ.setdefault("HEADWATER_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("HEADWATER_FLUSH_TIMEOUT", "600")  # each flow fully stored

    from headwater import flow, task
    from headwater.engine.runtime import use_sink
    from headwater.events.store import StoreSink

    @task
    def one(i: int) -> int:
        return i

    @flow
    def many(n: int) -> int:
        for i in range(n):
            one(i)
        return n

    with tempfile.TemporaryDirectory() as folder:
        url = args.pg or f"sqlite:///{Path(folder) / 'headwater.db'}"
        sink = StoreSink(url, writer="process")
        figures: list[float] = []
        with use_sink(sink):
            for k in range(args.flows):
                many(args.tasks)
                sink.flush(600)
                assert sink.writer_pid is not None
                figures.append(rss_mb(sink.writer_pid))
                if k in (0, 1, 9) or (k + 1) % 25 == 0:
                    print(f"after flow {k + 1:>4}: writer RSS {figures[-1]:7.1f} MB", flush=True)
        sink.close()
    store = "PostgreSQL" if args.pg else "SQLite"
    growth = 100 * (figures[-1] / figures[0] - 1)
    print(f"{store}: {args.flows} flows x {args.tasks:,} tasks: writer RSS {figures[0]:.1f} MB "
          f"after the first flow, {figures[-1]:.1f} MB after the last ({growth:+.1f}%), "
          f"peak {max(figures):.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
