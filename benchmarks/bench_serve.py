"""Serve latency: a scheduled tick to its flow run Running, and a run asked for on demand to
being claimed and Running, with a real serve process and a real process per run.

- tick -> Running: a deployment every `--interval` seconds; for each of `--ticks` ticks, the
  flow run's first Running state minus the tick's time. With prefetch (the default, 1 s) the
  run's process is started before the tick and waits; `--prefetch 0` shows the cost of starting
  a process after the tick instead.
- on demand: `run_deployment(..., timeout=0)` `--asks` times; the time until a serve process
  claimed the run (it looks every 0.2 s) and until the run was Running (a process started).

    python benchmarks/bench_serve.py                       # SQLite
    python benchmarks/bench_serve.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

SERVED = textwrap.dedent("""
    import sys
    from headwater import flow
    from headwater.deployments import serve

    @flow
    def beat() -> str:
        return "ok"

    if __name__ == "__main__":  # the runs' processes import this file too
        serve(beat.to_deployment("ticks", interval=float(sys.argv[1])),
              beat.to_deployment("asked"), prefetch_seconds=float(sys.argv[2]))
""")


def figures(values: list[float]) -> str:
    return (f"median {statistics.median(values):.3f} s, min {min(values):.3f} s, "
            f"max {max(values):.3f} s (n={len(values)})")


def wait(condition: Any, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("timed out")


def one_store(url: str, home: str, args: argparse.Namespace) -> None:
    from headwater.deployments.api import run_deployment
    from headwater.store import sql_store

    folder = Path(home)
    script = folder / "served.py"
    script.write_text(SERVED)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(HEADWATER_DATABASE_URL=url, HEADWATER_HOME=home, HEADWATER_LOGGING_LEVEL="WARNING")
    store = sql_store(url)
    store.reset()
    proc = subprocess.Popen([sys.executable, str(script), str(args.interval), str(args.prefetch)],
                            env=env, cwd=folder)
    try:
        ticks = wait(lambda: next((d for d in store.read_deployments()
                                   if d.full_name == "beat/ticks"), None))

        def finished() -> list[Any]:
            runs = store.read_deployment_runs([ticks.id], statuses=("claimed",), limit=None)
            return [r for r in runs if r.state_name == "Completed"]

        wait(lambda: len(finished()) >= args.ticks + 1, timeout=60 + 3 * args.ticks)
        done = finished()[1:]  # the first tick races the serve process's own start
        late = [store.read_flow_run(r.flow_run_id).start_time - r.tick for r in done]
        print(f"  tick -> Running:      {figures(late)}")

        claimed, running = [], []
        for _ in range(args.asks):
            asked = time.time()
            run = run_deployment("beat/asked", timeout=0, store=store)
            view = wait(lambda run=run: (lambda v: v if v.start_time else None)(
                store.read_flow_run(run.id)))
            [row] = [r for r in store.read_deployment_runs(statuses=("claimed",), limit=None)
                     if r.flow_run_id == run.id]
            claimed.append((row.claimed_at or asked) - asked)
            running.append(view.start_time - asked)
            wait(lambda run=run: store.read_flow_run(run.id).end_time)
        print(f"  on demand -> claimed: {figures(claimed)}")
        print(f"  on demand -> Running: {figures(running)}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--ticks", type=int, default=10)
    parser.add_argument("--asks", type=int, default=10)
    parser.add_argument("--prefetch", type=float, default=1.0)
    parser.add_argument("--pg", help="a PostgreSQL URL to measure too")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}; interval {args.interval:g} s, prefetch {args.prefetch:g} s")
    with tempfile.TemporaryDirectory() as home:
        stores = [("sqlite", f"sqlite:///{Path(home) / 'headwater.db'}")]
        if args.pg:
            stores.append(("postgres", args.pg))
        for label, url in stores:
            print(label)
            one_store(url, home, args)


if __name__ == "__main__":
    main()
