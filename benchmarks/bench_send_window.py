"""How long records wait in the flow's process before they are wholly in the writer process's
pipe, frame by frame, during a burst: the worst case of what a `kill -9` of the flow loses.

    python benchmarks/bench_send_window.py                     # SQLite, 4 s burst, 3 runs
    python benchmarks/bench_send_window.py --pg postgresql+psycopg://user@host/db

`bench_kill.py` measures real kills, each at one moment; this times every frame of a run (the
age of its oldest record when the frame's last byte reached the pipe), so one run shows the
worst moment a kill could have chosen. It wraps the writer process's `send` to do so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

WORKER = """
    import json, sys, time
    from headwater.events import _writer_process, codec

    ages = []
    send = _writer_process.WriterProcess.send

    def timed(self, number, items, **options):
        sent = send(self, number, items, **options)
        made = codec.stamp(items[0]) if items else None
        if made is not None and sent is not False:
            ages.append(time.time() - made)
        return sent

    _writer_process.WriterProcess.send = timed
    from headwater import flow, task

    @task
    def step(i: int) -> int:
        return i

    @flow
    def burst(seconds: float) -> int:
        end, i = time.monotonic() + seconds, 0
        while time.monotonic() < end:
            step(i)
            i += 1
        return i

    tasks = burst(float(sys.argv[1]))
    ages.sort()
    print(json.dumps({"tasks": tasks, "frames": len(ages), "median": ages[len(ages) // 2],
                      "worst": ages[-1]}))
"""


def main() -> int:
    from bench_kill import _pg_schema

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="a PostgreSQL URL (default: SQLite files)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each burst")
    args = parser.parse_args()
    print(f"{'run':>3}  {'tasks':>8}  {'frames':>6}  {'median s':>8}  {'worst s':>7}  load")
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            drop = None
            if args.pg:
                url, drop = _pg_schema(args.pg)
            else:
                url = f"sqlite:///{Path(folder) / 'headwater.db'}"
            try:
                from headwater.store import sql_store

                store = sql_store(url)
                store.upgrade()  # the schema exists before the run: only the burst is timed
                store.close()
                env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
                env.update(HEADWATER_DATABASE_URL=url, HEADWATER_STORE_WRITER="process",
                           HEADWATER_LOGGING_LEVEL="WARNING", HEADWATER_HOME=folder)
                done = subprocess.run(
                    [sys.executable, "-c", textwrap.dedent(WORKER), str(args.seconds)],
                    env=env, capture_output=True, text=True, check=True,
                )
            finally:
                if drop is not None:
                    drop()
        found = json.loads(done.stdout.strip().splitlines()[-1])
        load = os.getloadavg()[0]
        print(f"{run + 1:>3}  {found['tasks']:>8,}  {found['frames']:>6}  "
              f"{found['median']:>8.3f}  {found['worst']:>7.3f}  {load:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
