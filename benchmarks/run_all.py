"""The whole benchmark suite in one command: import time, per-task overhead, peak RSS, Dask.

Every workload runs in the same invocation against a plain `ThreadPoolExecutor` doing the same
work (the floor), against headwater, and, with `--prefect-python`, against Prefect; the table
shows µs per task and the ratio to the floor. Each (engine, workload, N) runs in its own fresh
process (`workloads.py`), which also reports its peak RSS. See benchmarks/README.md.

    python benchmarks/run_all.py --pin 0                  # the full suite, ~2.5 minutes on 2 CPUs
    python benchmarks/run_all.py --quick                  # N ≤ 10,000, under a minute
    python benchmarks/run_all.py --prefect-python ~/prefect-venv/bin/python
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_import import Result, Target, measure, version_of  # noqa: E402

WORKLOAD_SCRIPT = str(HERE / "workloads.py")
WORKLOADS = ("direct", "submit", "map", "subflow", "dask-threads", "dask-processes")
PREFECT_SUBFLOW_N_MAX = 20
PREFECT_DASK_N_MAX = 200
FLOOR = "ThreadPoolExecutor"
DASK_FLOOR = "dask client.map"
MEASUREMENT_ENV = {"HEADWATER_LOGGING_LEVEL": "WARNING"}
PREFECT_ENV = {"PREFECT_LOGGING_LEVEL": "WARNING"}
TASK_HEADER = (
    f"{'workload':<15} {'N':>8}  {'engine':<44} {'µs/task':>9} {'× floor':>8} "
    f"{'RSS start MB':>13} {'peak RSS MB':>12}"
)
IMPORT_HEADER = f"{'import':<52} {'median ms':>10} {'min ms':>8} {'modules':>8} {'× floor':>8}"


@dataclass
class Plan:
    """What to run: N per workload, repeats per N, and the import repeats."""

    sizes: dict[str, list[int]]
    import_repeat: int
    quick: bool
    prefect_n_max: int

    def repeat(self, n: int) -> int:
        if n <= 1_000:
            return 3 if self.quick else 5
        if n <= 10_000:
            return 2 if self.quick else 3
        return 1


@dataclass
class Row:
    workload: str
    n: int
    engine: str  # the case label: "ThreadPoolExecutor", "headwater", "dask client.map", ...
    seconds: float | None
    rss_start_mb: float | None = None
    peak_rss_mb: float | None = None
    note: str = ""
    floor: bool = False
    measured_n: int | None = None  # when an engine ran this workload at a smaller N
    source: str = ""  # the engine whose process measured it

    @property
    def us_per_task(self) -> float | None:
        return None if self.seconds is None else self.seconds / (self.measured_n or self.n) * 1e6


@dataclass
class Engine:
    name: str  # threadpool, headwater or prefect: the workloads.py --engine
    python: str
    env: dict[str, str] = field(default_factory=dict)
    # The largest N per workload. Above it the engine is not run, unless no N of the
    # workload fits: then it runs once, at this N, in the smallest N's group.
    n_max: dict[str, int] = field(default_factory=dict)
    skip: dict[str, str] = field(default_factory=dict)  # workload -> why it is not run
    warmup: int | None = None
    repeat: int | None = None
    timeout: float = 900.0


def make_plan(quick: bool, n_max: int | None, prefect_n_max: int) -> Plan:
    task_sizes = [1_000, 10_000] if quick else [1_000, 10_000, 100_000]
    sizes = {
        "direct": task_sizes,
        "submit": task_sizes,
        "map": task_sizes,
        "subflow": [1_000] if quick else [1_000, 10_000],
        "dask-threads": [500] if quick else [2_000],
        "dask-processes": [500] if quick else [2_000],
    }
    if n_max is not None:
        sizes = {w: [n for n in ns if n <= n_max] or [n_max] for w, ns in sizes.items()}
    return Plan(sizes, 5 if quick else 20, quick, prefect_n_max)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADWATER_", "PREFECT_"))}
    env.update(MEASUREMENT_ENV)
    env.update(extra)
    return env


def run_workload(
    engine: Engine, workload: str, n: int, repeat: int, pin: int | None
) -> dict[str, Any]:
    """Run one workload in a fresh process of `engine.python`; its JSON report, or an error."""
    args = [
        engine.python,
        WORKLOAD_SCRIPT,
        "--engine",
        engine.name,
        "--workload",
        workload,
        "--n",
        str(n),
        "--repeat",
        str(engine.repeat or repeat),
    ]
    if engine.warmup is not None:
        args += ["--warmup", str(engine.warmup)]
    if pin is not None:
        args += ["--pin", str(pin)]
    # Its own session, so that on a timeout its helpers (Prefect's API server, Dask's
    # workers) are ended with it, and nothing else.
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(engine.env),
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=engine.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"failed": f"timed out after {engine.timeout:.0f} s"}
    lines = stdout.strip().splitlines()
    if proc.returncode != 0 or not lines or not lines[-1].startswith("{"):
        tail = (stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"failed": f"exit {proc.returncode}: {tail[:200]}"}
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def rows_of(workload: str, n: int, report: dict[str, Any], engine: Engine) -> list[Row]:
    if "failed" in report:
        return [Row(workload, n, engine.name, None, note=report["failed"], source=engine.name)]
    rows = []
    for label, seconds in report["seconds"].items():
        note = report["errors"].get(label, "")
        measured = report["n"] if report["n"] != n else None
        rows.append(
            Row(
                workload,
                n,
                label,
                seconds,
                report["rss_start_mb"],
                report["peak_rss_mb"],
                note,
                measured_n=measured,
                source=engine.name,
            )
        )
    return rows


def size_for(engine: Engine, workload: str, n: int, sizes: list[int]) -> int | None:
    """The N to run `engine` at in the group of `n`, or None to leave it out."""
    cap = engine.n_max.get(workload)
    if cap is None or n <= cap:
        return n
    if n == min(sizes) and not any(size <= cap for size in sizes):
        return cap
    return None


def measure_tasks(plan: Plan, engines: list[Engine], pin: int | None, log: Any) -> list[Row]:
    rows: list[Row] = []
    for workload, sizes in plan.sizes.items():
        for n in sizes:
            group: list[Row] = []
            for engine in engines:
                if workload in engine.skip:
                    group.append(Row(workload, n, engine.name, None, note=engine.skip[workload]))
                    continue
                k = size_for(engine, workload, n, sizes)
                if k is None:
                    note = f"not measured (N > {engine.n_max[workload]:,}, see --prefect-n-max)"
                    group.append(Row(workload, n, engine.name, None, note=note))
                    continue
                start = time.perf_counter()
                report = run_workload(engine, workload, k, plan.repeat(k), pin)
                log(f"  {workload} N={k:,} {engine.name}: {time.perf_counter() - start:.1f} s")
                group.extend(rows_of(workload, n, report, engine))
            floor_label = DASK_FLOOR if workload.startswith("dask-") else FLOOR
            seen_floor = False
            for row in group:
                # On Dask, every engine's child measures client.map on its own cluster, at its
                # own N: that is the floor of the engine's DaskTaskRunner (and the first one,
                # headwater's, the floor of the thread-pool row).
                if row.engine == floor_label:
                    if seen_floor:
                        row.engine = f"{floor_label} [{row.source}'s floor]"
                    row.floor = seen_floor = True
                rows.append(row)
    return rows


def floor_of(rows: list[Row], row: Row) -> Row | None:
    """The floor measured in the same process if there is one (Dask), else the group's first."""
    floors = [r for r in rows if r.floor and r.workload == row.workload and r.n == row.n]
    same_process = [r for r in floors if r.source == row.source]
    return (same_process or floors or [None])[0]


def ratio(rows: list[Row], row: Row) -> float | None:
    floor = floor_of(rows, row)
    if floor is None or floor.us_per_task is None or row.us_per_task is None:
        return None
    return row.us_per_task / floor.us_per_task


def fmt(value: float | None, spec: str, width: int) -> str:
    if value is None:
        return f"{'n/a':>{width}}"
    if spec == ".2f" and value < 0.1:
        spec = ".3f"  # the thread pool on a Dask row: a few thousandths of client.map
    elif spec == ".2f" and value >= 10:
        spec = ",.0f" if value >= 100 else ".1f"
    return f"{value:>{width}{spec}}"


def print_tasks(rows: list[Row]) -> None:
    print(TASK_HEADER)
    print("-" * len(TASK_HEADER))
    previous = None
    for row in rows:
        key = (row.workload, row.n)
        if previous is not None and key != previous:
            print()
        previous = key
        label = f"{row.engine} (floor)" if row.floor and "floor" not in row.engine else row.engine
        if row.measured_n is not None:
            label = f"{label} (at N={row.measured_n:,})"
        r = ratio(rows, row)
        line = (
            f"{row.workload:<15} {row.n:>8,}  {label:<44} {fmt(row.us_per_task, '.1f', 9)} "
            f"{fmt(r, '.2f', 7)}{'×' if r is not None else ' '} "
            f"{fmt(row.rss_start_mb, '.0f', 13)} {fmt(row.peak_rss_mb, '.0f', 12)}"
        )
        print(f"{line}  {row.note}".rstrip())


def print_targets(rows: list[Row]) -> None:
    """The issue's targets, reported (never asserted)."""

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print("\nTargets (reported, not asserted):")
    for workload in ("submit", "map"):
        found = [
            f"N={r.n:,}: {x:.1f}× ({verdict(x <= 3)})"
            for r in rows
            if r.workload == workload
            and r.engine == "headwater"
            and (x := ratio(rows, r)) is not None
        ]
        print(f"  headwater .{workload} ≤ 3× ThreadPoolExecutor: {'; '.join(found) or 'n/a'}")
    big = [r for r in rows if r.workload == "map" and r.engine == "headwater" and r.peak_rss_mb]
    if big:
        r = max(big, key=lambda r: r.n)
        print(
            f"  {r.n:,} mapped tasks in one flow, peak RSS ≤ 1 GB: {r.peak_rss_mb:.0f} MB "
            f"({verdict(r.peak_rss_mb is not None and r.peak_rss_mb <= 1024)})"
        )
    dask = [
        f"{r.workload.removeprefix('dask-')} {x:.2f}× ({verdict(x <= 1.5)})"
        for r in rows
        if r.engine == "headwater DaskTaskRunner" and (x := ratio(rows, r)) is not None
    ]
    print(f"  headwater DaskTaskRunner ≤ 1.5× client.map: {'; '.join(dask) or 'n/a'}")


def measure_imports(repeat: int, prefect: Engine | None, log: Any) -> list[Result]:
    targets = [
        Target("import concurrent.futures (floor)", "import concurrent.futures"),
        Target(
            "import headwater; from headwater import flow, task",
            "import headwater\nfrom headwater import flow, task",
        ),
    ]
    if prefect is not None:
        targets.append(
            Target(
                "import prefect; from prefect import flow, task",
                "import prefect\nfrom prefect import flow, task",
                prefect.python,
                prefect.env,
            )
        )
    results = []
    for target in targets:
        start = time.perf_counter()
        results.append(measure(target, repeat))
        log(f"  {target.label}: {time.perf_counter() - start:.1f} s")
    return results


def print_imports(results: list[Result], prefect_note: str | None) -> None:
    print(IMPORT_HEADER)
    print("-" * len(IMPORT_HEADER))
    floor = results[0].median_ms
    for r in results:
        print(
            f"{r.target.label:<52} {r.median_ms:>10.1f} {r.min_ms:>8.1f} {r.modules:>8d} "
            f"{r.median_ms / floor:>7.1f}×"
        )
    if prefect_note:
        print(f"{'import prefect':<52} {prefect_note}")


def prefect_works(python: str) -> str | None:
    """None if `import prefect` works in `python`, else why not."""
    try:
        subprocess.run(
            [python, "-c", "import prefect"], capture_output=True, check=True, timeout=120
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def prefect_caps(n_max: int) -> dict[str, int]:
    # A Prefect subflow call took ~1.1 s on the 2-vCPU VM (ephemeral API server), so subflows
    # run at N ≤ 20; the other workloads take milliseconds per task, so N ≤ --prefect-n-max.
    caps = dict.fromkeys(WORKLOADS, n_max)
    caps["subflow"] = min(n_max, PREFECT_SUBFLOW_N_MAX)
    # prefect-dask took ~120 ms per task, so its Dask workloads run at N ≤ 200.
    caps["dask-threads"] = caps["dask-processes"] = min(n_max, PREFECT_DASK_N_MAX)
    return caps


def prefect_skips(python: str) -> dict[str, str]:
    code = "import prefect_dask, distributed"
    if subprocess.run([python, "-c", code], capture_output=True).returncode == 0:
        return {}
    note = "not measured (prefect_dask is not installed there)"
    return {w: note for w in WORKLOADS if w.startswith("dask-")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N ≤ 10,000 and fewer repeats")
    parser.add_argument(
        "--n-max", type=int, metavar="N", help="largest N to run (smaller sizes are kept)"
    )
    parser.add_argument(
        "--pin",
        type=int,
        metavar="CPU",
        help="run every measurement on this one CPU (Linux): steadier thread-pool figures",
    )
    parser.add_argument("--prefect-python", metavar="PATH", help="an interpreter with prefect")
    parser.add_argument(
        "--prefect-n-max",
        type=int,
        default=1_000,
        metavar="N",
        help="largest N to run on Prefect (default 1,000: it takes milliseconds per task)",
    )
    parser.add_argument(
        "--store",
        choices=["sqlite", "memory"],
        default="sqlite",
        help="headwater's run store (default: SQLite in a temporary HEADWATER_HOME)",
    )
    parser.add_argument(
        "--dask",
        choices=["both", "threads", "processes", "none"],
        default="both",
        help="which LocalCluster variants to run (processes=False is 'threads')",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every row to this file")
    args = parser.parse_args(argv)

    plan = make_plan(args.quick, args.n_max, args.prefect_n_max)
    # Not imported here: this process should stay small, and Dask is the children's business.
    dask_note = None
    if importlib.util.find_spec("distributed") is None:
        dask_note = "dask: not measured (no dask.distributed here: pip install -e '.[dask]')"
    keep_dask = {"both": ("threads", "processes"), "none": ()}.get(args.dask, (args.dask,))
    plan.sizes = {
        w: ns
        for w, ns in plan.sizes.items()
        if not w.startswith("dask-") or (dask_note is None and w[5:] in keep_dask)
    }

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    homes = [tempfile.mkdtemp(prefix="headwater-bench-")]
    headwater_env = {"HEADWATER_HOME": homes[0]}
    if args.store == "memory":
        headwater_env["HEADWATER_STORE"] = "memory"
    engines = [
        Engine("threadpool", sys.executable),
        Engine("headwater", sys.executable, headwater_env),
    ]
    prefect: Engine | None = None
    prefect_note: str | None = "not measured (no --prefect-python given)"
    if args.prefect_python:
        why_not = prefect_works(args.prefect_python)
        if why_not is None:
            homes.append(tempfile.mkdtemp(prefix="prefect-bench-"))
            prefect = Engine(
                "prefect",
                args.prefect_python,
                {"PREFECT_HOME": homes[1], **PREFECT_ENV},
                n_max=prefect_caps(args.prefect_n_max),
                skip=prefect_skips(args.prefect_python),
                warmup=10,
                repeat=1,
                timeout=600.0,
            )
            engines.append(prefect)
            prefect_note = None
        else:
            prefect_note = f"not measured ({args.prefect_python}: import prefect failed: {why_not})"

    started = time.perf_counter()
    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    print(f"headwater {version_of(sys.executable, 'headwater')} ({sys.executable})")
    if prefect is not None:
        print(f"prefect {version_of(prefect.python, 'prefect')} ({prefect.python})")
    else:
        print(f"prefect: {prefect_note}")
    pinned = f"pinned to CPU {args.pin}" if args.pin is not None else "not pinned (see --pin)"
    store = "SQLite in a temp HEADWATER_HOME"
    if args.store == "memory":
        store = "HEADWATER_STORE=memory"
    print(
        f"HEADWATER_LOGGING_LEVEL=WARNING, PREFECT_LOGGING_LEVEL=WARNING; headwater store: "
        f"{store}; {pinned}; {'--quick' if args.quick else 'full run'}"
    )
    print()
    try:
        log("import time ...")
        imports = measure_imports(plan.import_repeat, prefect, log)
        log("tasks ...")
        rows = measure_tasks(plan, engines, args.pin, log)
    finally:
        for home in homes:
            shutil.rmtree(home, ignore_errors=True)

    print(f"Import time ({plan.import_repeat} fresh interpreters each)")
    print_imports(imports, prefect_note)
    print()
    print(
        "Per-task overhead (best of R runs; each row is its own fresh process; "
        "Dask rows' floor is client.map on the same LocalCluster)"
    )
    print_tasks(rows)
    if dask_note:
        print(dask_note)
    print_targets(rows)
    if prefect_note:
        print(f"\nprefect: {prefect_note}")
    print(f"total time: {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps([row.__dict__ for row in rows], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
