"""What recording costs the flow's process, per task run: the same flows with three sinks.

    null     `NullSink`: the engine alone, nothing recorded
    encode   each record encoded (`codec.ENCODERS`) into a bounded deque, nothing sent
    store    the real `StoreSink` with its writer process (moved to the other CPUs)

Each sink runs `--flows` flows of `--n` `.submit`s of a trivial task, in this process pinned to
`--pin`; the figure is the CPU time of this process (all its threads, `time.process_time`)
per task run, median and min–max over the flows. Recording's cost is `store` minus `null`.
CPU time is noisy on a shared machine; for figures to compare, count instructions instead:

    valgrind --tool=callgrind python benchmarks/bench_recording.py --sink store --n 2000 --once
    valgrind --tool=callgrind python benchmarks/bench_recording.py --sink store --n 10000 --once

(with `PYTHONHASHSEED=0`; without --trace-children, so the writer process is not counted): the
difference of the two totals divided by 8,000 is the instructions per task run.

    python benchmarks/bench_recording.py                       # all three sinks, 9 flows
    python benchmarks/bench_recording.py --sink store --flows 9 --n 10000 --pin 0
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import deque
from typing import Any

from writer_cpus import other_cpus, place_writers

SINKS = ("null", "encode", "store")


def make_sink(kind: str) -> Any:
    from headwater.events import EventSink, NullSink, codec

    if kind == "null":
        return NullSink()
    if kind == "encode":
        class EncodeOnly(EventSink):
            """Encodes each record as the store sink does, and keeps the last few."""

            def __init__(self) -> None:
                kept: deque[Any] = deque(maxlen=4096)
                encoders = codec.ENCODERS
                append = kept.append

                def emit(record: Any) -> None:
                    encoder = encoders.get(record.__class__)
                    if encoder is not None:
                        append(encoder(record))

                self.emit = emit  # type: ignore[method-assign]

        return EncodeOnly()
    from headwater import settings
    from headwater.events.store import StoreSink

    return StoreSink(settings.database_url())


def measure(kind: str, flows: int, n: int, pin: int | None, once: bool) -> list[float]:
    from headwater import flow, task
    from headwater.engine.runtime import set_sink

    @task
    def inc(x: int) -> int:
        return x + 1

    @flow
    def submit(count: int) -> None:
        futures = [inc.submit(i) for i in range(count)]
        for future in futures:
            future.result()

    set_sink(make_sink(kind))
    submit(min(n, 500))  # warm up: imports, the pool's threads, the writer process
    if pin is not None:
        place_writers(other_cpus(pin))
    if once:
        submit(n)
        return []
    per_task = []
    for _ in range(flows):
        start = time.process_time()
        submit(n)
        per_task.append((time.process_time() - start) / n * 1e6)
    return per_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sink", choices=SINKS, action="append", help="default: all three")
    parser.add_argument("--flows", type=int, default=9)
    parser.add_argument("--n", type=int, default=10_000, help="task runs per flow")
    parser.add_argument("--pin", type=int, default=0, metavar="CPU",
                        help="run on this one CPU (Linux; -1: do not pin)")
    parser.add_argument("--once", action="store_true",
                        help="run one flow of N untimed (for instruction counts)")
    args = parser.parse_args()
    pin = None if args.pin < 0 else args.pin
    if pin is not None:
        os.sched_setaffinity(0, {pin})
    os.environ.update(HEADWATER_HOME=tempfile.mkdtemp(prefix="headwater-bench-"),
                      HEADWATER_LOGGING_LEVEL="WARNING")
    for kind in args.sink or SINKS:
        if len(args.sink or SINKS) > 1:  # each sink in a process of its own
            import subprocess
            import sys

            subprocess.run([sys.executable, __file__, "--sink", kind, "--flows",
                            str(args.flows), "--n", str(args.n), "--pin", str(args.pin),
                            *(["--once"] if args.once else [])], check=True)
            continue
        per_task = measure(kind, args.flows, args.n, pin, args.once)
        if per_task:
            print(f"{kind:<7} {statistics.median(per_task):6.2f} CPU µs per task run "
                  f"({min(per_task):.2f}–{max(per_task):.2f}), {args.flows} flows of "
                  f"{args.n:,}", flush=True)


if __name__ == "__main__":
    main()
