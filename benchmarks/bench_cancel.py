"""Cancel latency: from `cancel_flow_run` (the request committed to the store) to the flow run
stored as `Cancelled`, with the flow in another process.

The flow maps 10,000 short task runs (1 ms each) on 4 threads, so it is busy when asked; the
latency includes the writer noticing the request (it looks every 0.25 s), the running task
calls finishing, the queued runs being recorded as Cancelled, the hooks, and the final state
reaching the store. Each (store, writer) pair runs `--rounds` times; median and min–max.

    python benchmarks/bench_cancel.py                       # SQLite, process and thread writers
    python benchmarks/bench_cancel.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

FLOW = textwrap.dedent("""
    import time
    from headwater import flow, task
    from headwater.runners import ThreadPoolTaskRunner

    @task
    def step(i):
        time.sleep(0.001)
        return i

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=4))
    def busy(n: int = 10_000):
        return [f.result() for f in step.map(range(n))]

    busy(return_state=True)
""")


def one_round(url: str, writer: str, home: str) -> float:
    from headwater.cancellation import cancel_flow_run
    from headwater.store import FlowRunFilter, sql_store

    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(HEADWATER_DATABASE_URL=url, HEADWATER_HOME=home, HEADWATER_STORE_WRITER=writer,
               HEADWATER_LOGGING_LEVEL="WARNING")
    store = sql_store(url)
    before = {run.id for run in store.read_flow_runs(FlowRunFilter(limit=None))}
    proc = subprocess.Popen([sys.executable, "-c", FLOW], env=env)
    try:
        run_id = None
        deadline = time.monotonic() + 60
        while run_id is None and time.monotonic() < deadline:
            runs = [r for r in store.read_flow_runs(FlowRunFilter(limit=5)) if r.id not in before]
            if runs and runs[0].state_name == "Running":
                run_id = runs[0].id
            time.sleep(0.01)
        assert run_id is not None, "the flow did not start"
        time.sleep(0.3)  # let it get busy
        cancel_flow_run(run_id, store=store)
        asked = time.monotonic()
        while store.read_flow_run(run_id).state_name != "Cancelled":
            if time.monotonic() - asked > 60:
                raise AssertionError("not cancelled within 60 s")
            time.sleep(0.005)
        took = time.monotonic() - asked
        proc.wait(timeout=60)
        return took
    finally:
        if proc.poll() is None:
            proc.kill()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg", help="a PostgreSQL URL to measure too")
    parser.add_argument("--writer", choices=("both", "process", "thread"), default="both")
    parser.add_argument("--json", action="store_true", help="one JSON object per row")
    args = parser.parse_args()
    if not args.json:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"{'store':<10} {'writer':<8} {'median s':>9} {'min s':>7} {'max s':>7}")
    writers = ("process", "thread") if args.writer == "both" else (args.writer,)
    with tempfile.TemporaryDirectory() as home:
        stores = [("sqlite", f"sqlite:///{Path(home) / 'headwater.db'}")]
        if args.pg:
            stores.append(("postgres", args.pg))
        for label, url in stores:
            for writer in writers:
                times = [one_round(url, writer, home) for _ in range(args.rounds)]
                if args.json:
                    print(json.dumps({"store": label, "writer": writer, "seconds": times,
                                      "loadavg": os.getloadavg()}), flush=True)
                    continue
                print(f"{label:<10} {writer:<8} {statistics.median(times):>9.3f} "
                      f"{min(times):>7.3f} {max(times):>7.3f}")

if __name__ == "__main__":
    main()
