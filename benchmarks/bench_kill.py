"""How many seconds of task runs a `kill -9` of the flow's process loses, per store and writer.

    python benchmarks/bench_kill.py                    # SQLite, both writers, steady and burst
    python benchmarks/bench_kill.py --pg postgresql+psycopg://user@host/db --trials 8
    python benchmarks/bench_kill.py --load burst --trials 16    # one load only

A flow process completes task runs (steadily: one every 2 ms; or in a burst: a tight loop) and
prints each one's completion time; after `--after` seconds it is killed with SIGKILL. Once the
writer (process) has committed what it was sent, the task runs printed but not stored are the
loss: the figure is the age, at the kill, of the oldest of them (0 when none is missing). The
promise: at most 0.1 s with the writer process, the batch window (0.2 s) with the thread one.
This used to be a test; a busy CI machine made its wall-clock bound flaky, so it is measured here.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

PRODUCER = """
    import sys, time
    from headwater import flow, task

    PAUSE = float(sys.argv[1])

    @task
    def step(i: int) -> int:
        if PAUSE:
            time.sleep(PAUSE)
        return i

    @flow
    def endless() -> None:
        for i in range(10_000_000):
            step(i)
            print(i, time.time(), flush=True)

    endless()
"""


def _stored(url: str) -> set[int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT result FROM task_runs WHERE state_name = "
                                     "'Completed'"))
            return {int(row[0]) for row in rows}
    finally:
        engine.dispose()


def trial(url: str, writer: str, pause: str, after: float) -> tuple[float, int]:
    """(seconds lost, task runs lost) of one kill."""
    from headwater.store import sql_store

    store = sql_store(url)
    store.upgrade()  # the schema exists before the run: only the kill is measured
    store.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(HEADWATER_DATABASE_URL=url, HEADWATER_STORE_WRITER=writer,
               HEADWATER_LOGGING_LEVEL="WARNING")
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(PRODUCER), pause],
                            env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    done: dict[int, float] = {}
    started = time.monotonic()
    for line in proc.stdout:
        index, at = line.split()
        done[int(index)] = float(at)
        if time.monotonic() - started > after:
            break
    killed_at = time.time()
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    # Until nothing changed for 3 s: the writer process (killed mid-start, it may still be
    # importing its driver) is done.
    stored, unchanged = _stored(url), 0
    while unchanged < 15:
        time.sleep(0.2)
        again = _stored(url)
        unchanged = unchanged + 1 if again == stored else 0
        stored = again
    missing = [i for i in done if i not in stored]
    return (killed_at - min(done[i] for i in missing) if missing else 0.0), len(missing)


def _pg_schema(dsn: str) -> tuple[str, Any]:
    import psycopg

    schema = f"hw_bench_{uuid.uuid4().hex[:10]}"
    plain = dsn.split("?")[0].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    separator = "&" if "?" in dsn else "?"
    return f"{dsn}{separator}options=-csearch_path%3D{schema}", drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="a PostgreSQL URL (default: SQLite files)")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--after", type=float, default=2.0, help="seconds before the kill")
    parser.add_argument("--load", choices=["steady", "burst"],
                        help="only this load (default: both)")
    args = parser.parse_args()
    cases = [("process", "0.002", "steady"), ("thread", "0.002", "steady"),
             ("process", "0", "burst")]
    cases = [case for case in cases if args.load in (None, case[2])]
    print(f"{'store':<11} {'writer':<8} {'load':<7} {'trials':>6}  {'max s lost':>10}  "
          f"{'median s':>8}  {'max runs lost':>13}")
    for writer, pause, load in cases:
        lost: list[tuple[float, int]] = []
        for _ in range(args.trials):
            with tempfile.TemporaryDirectory() as folder:
                if args.pg:
                    url, drop = _pg_schema(args.pg)
                else:
                    url, drop = f"sqlite:///{Path(folder) / 'headwater.db'}", None
                try:
                    lost.append(trial(url, writer, pause, args.after))
                finally:
                    if drop is not None:
                        drop()
        seconds = sorted(s for s, _ in lost)
        print(f"{'PostgreSQL' if args.pg else 'SQLite':<11} {writer:<8} {load:<7} "
              f"{len(lost):>6}  {seconds[-1]:>10.3f}  {seconds[len(seconds) // 2]:>8.3f}  "
              f"{max(n for _, n in lost):>13,}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
