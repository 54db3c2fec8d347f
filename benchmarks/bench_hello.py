"""Hello-world flow, whole process: from `python hello.py` starting to its exit, run recorded.

The script is the smallest recorded flow (one flow, one task, a print):

    from headwater import flow, task
    @task
    def hi(): return "hi"
    @flow
    def hello(): return hi()
    print(hello())

It runs in fresh interpreters, with the default store (SQLite, in a temporary HEADWATER_HOME:
its writer process starts, writes the run and exits before the script's process does), with
`HEADWATER_STORE=memory`, and as the floor, `python -c pass` (an interpreter that starts and
stops). Each round starts each target once, in turn, so a machine that slows down slows all of
them alike; the table gives the median and the min-max of the rounds' wall times, the median CPU
time (user + system, the writer process included), and the median of each round's ratio to the
memory store's run. A first, untimed run creates the SQLite file at the newest schema (the only
run that loads Alembic); `--fresh` times that first run too, in a new folder each round.

    python benchmarks/bench_hello.py                  # 20 rounds
    python benchmarks/bench_hello.py --rounds 40 --json
    python benchmarks/bench_hello.py --prefect-python ~/prefect-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench_import import compile_bytecode

HELLO = """\
from {package} import flow, task
@task
def hi(): return "hi"
@flow
def hello(): return hi()
print(hello())
"""


@dataclass
class Target:
    label: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    fresh_home: bool = False  # a new HEADWATER_HOME for every run
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)


def run_once(target: Target, base_env: dict[str, str], scratch: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and the children it waited for)."""
    env = {**base_env, **target.env}
    if target.fresh_home:
        env["HEADWATER_HOME"] = tempfile.mkdtemp(dir=scratch)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(target.argv, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{target.label} failed (exit {done.returncode}):\n"
                         f"{done.stderr.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def make_targets(script: Path, prefect_script: Path | None, prefect_python: str | None,
                 home: Path, fresh: bool) -> list[Target]:
    python = sys.executable
    targets = [
        Target("python -c pass (floor)", [python, "-c", "pass"]),
        Target("hello, HEADWATER_STORE=memory", [python, str(script)],
               {"HEADWATER_STORE": "memory"}),
        Target("hello, SQLite (default store)", [python, str(script)],
               {"HEADWATER_HOME": str(home)}),
    ]
    if fresh:
        targets.append(Target("hello, SQLite, first run (new file)", [python, str(script)],
                              fresh_home=True))
    if prefect_python and prefect_script is not None:
        targets.append(Target(f"hello, Prefect ({prefect_python})",
                              [prefect_python, str(prefect_script)],
                              {"PREFECT_HOME": str(home / "prefect")}))
    return targets


def summarize(targets: list[Target]) -> list[dict[str, object]]:
    memory = next(t for t in targets if "memory" in t.label)
    rows = []
    for target in targets:
        ratios = [w / m for w, m in zip(target.walls, memory.walls, strict=True)]
        rows.append({
            "target": target.label,
            "rounds": len(target.walls),
            "median_ms": statistics.median(target.walls) * 1000,
            "min_ms": min(target.walls) * 1000,
            "max_ms": max(target.walls) * 1000,
            "cpu_median_ms": statistics.median(target.cpus) * 1000,
            "vs_memory_median": statistics.median(ratios),
        })
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds (default 20)")
    parser.add_argument("--fresh", action="store_true",
                        help="also time the first run against a new SQLite file")
    parser.add_argument("--prefect-python", help="an interpreter with prefect installed")
    parser.add_argument("--pin", help="run every process on these CPUs, e.g. 0 or 0,1 (Linux)")
    parser.add_argument("--json", action="store_true", help="print one JSON object, no table")
    args = parser.parse_args(argv)
    if args.pin:
        os.sched_setaffinity(0, {int(cpu) for cpu in args.pin.split(",")})

    compile_bytecode()  # as installed: see bench_import.py
    scratch = Path(tempfile.mkdtemp(prefix="headwater-bench-hello-"))
    try:
        script = scratch / "hello.py"
        script.write_text(HELLO.format(package="headwater"))
        prefect_script = None
        if args.prefect_python:
            prefect_script = scratch / "hello_prefect.py"
            prefect_script.write_text(HELLO.format(package="prefect"))
        base_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("HEADWATER_", "PREFECT_"))}
        home = scratch / "home"
        targets = make_targets(script, prefect_script, args.prefect_python, home, args.fresh)
        for target in targets:  # warm-up: caches, .pyc files, and the SQLite file's schema
            run_once(target, base_env, scratch)
        for _ in range(args.rounds):
            for target in targets:
                wall, cpu = run_once(target, base_env, scratch)
                target.walls.append(wall)
                target.cpus.append(cpu)
        rows = summarize(targets)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    machine = {
        "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(), "load_average": os.getloadavg(), "rounds": args.rounds,
        "pinned": args.pin,
    }
    if args.json:
        print(json.dumps({"benchmark": "hello", "machine": machine, "rows": rows}, indent=2))
        return
    print(f"python {machine['python']} on {machine['platform']}, {machine['cpus']} CPUs; "
          f"{args.rounds} interleaved rounds; load average after: "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    header = (f"{'whole process':<38} {'median ms':>10} {'min-max ms':>15} {'CPU ms':>8} "
              f"{'× memory':>9}")
    print(header)
    print("-" * len(header))
    for row in rows:
        span = f"{row['min_ms']:.0f}-{row['max_ms']:.0f}"
        print(f"{row['target']:<38} {row['median_ms']:>10.0f} {span:>15} "
              f"{row['cpu_median_ms']:>8.0f} {row['vs_memory_median']:>9.2f}")


if __name__ == "__main__":
    main()
