"""The measurements behind `report.py`'s table, each a call of an existing benchmark script.

Each function runs its measurement in fresh processes (the engine's import and its store are
part of what is measured, and one measurement must not warm up the next) and returns a
`Figure`: a middle value with its min–max, or a note saying why there is none.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# Prefect starts an API server of its own on first use: on a busy machine that can take longer
# than its default 20 s wait.
PREFECT_ENV = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300"}


@dataclass
class Figure:
    """One measured figure: its middle value (median, unless said) and its range."""

    value: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""

    @classmethod
    def of(cls, values: list[float], note: str = "") -> Figure:
        return cls(statistics.median(values), min(values), max(values), note)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADWATER_", "PREFECT_"))}
    env.update(extra)
    return env


def json_lines(args: list[str], env: dict[str, str], timeout: float) -> list[dict[str, Any]]:
    """Run a script that prints JSON lines; every line that is a JSON object."""
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not rows:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"{Path(args[1]).name} exited {done.returncode}: {tail[:300]}")
    return rows


def overhead(
    sizes: list[int], rounds: int | None, pin: int | None
) -> dict[tuple[str, int], Figure]:
    """bench_overhead.py: each workload at each N, interleaved with the thread-pool floor."""
    args = [sys.executable, str(HERE / "bench_overhead.py"), "--json"]
    for n in sizes:
        args += ["--n", str(n)]
    if rounds:
        args += ["--rounds", str(rounds)]
    if pin is not None:
        args += ["--pin", str(pin)]
    figures = {}
    for row in json_lines(args, clean_env(), timeout=3600):
        figures[(row["workload"], row["n"])] = Figure(
            row["ratio_median"], row["ratio_min"], row["ratio_max"],
            f"{row['headwater_us']:.1f} µs vs {row['floor_us']:.1f} µs; writer process "
            f"{row['writer_cpu_us']:.1f} CPU µs",
        )
    return figures


def logging_cost(n: int, rounds: int, pin: int | None) -> Figure:
    """bench_overhead.py --logging: µs per direct task call at INFO (console to a file nobody
    reads) minus at WARNING, the level switched round by round in one process."""
    args = [sys.executable, str(HERE / "bench_overhead.py"), "--json", "--logging", "--n",
            str(n), "--rounds", str(rounds)]
    if pin is not None:
        args += ["--pin", str(pin)]
    row = json_lines(args, clean_env(), timeout=1800)[0]
    return Figure(row["cost_us_median"], row["cost_us_min"], row["cost_us_max"],
                  f"{rounds} rounds in one process; {row['warning_us']:.1f} µs vs "
                  f"{row['info_us']:.1f} µs")


def big_map(n: int, pin: int | None) -> tuple[Figure, Figure]:
    """workloads.py: one `.map` of N tasks in one flow, recorded (SQLite): seconds, peak RSS."""
    home = tempfile.mkdtemp(prefix="headwater-bench-")
    args = [sys.executable, str(HERE / "workloads.py"), "--engine", "headwater", "--workload",
            "map", "--n", str(n), "--repeat", "1", "--warmup", "1000"]
    if pin is not None:
        args += ["--pin", str(pin)]
    try:
        row = json_lines(args, clean_env(HEADWATER_HOME=home, HEADWATER_LOGGING_LEVEL="WARNING"),
                         timeout=3600)[-1]
    finally:
        shutil.rmtree(home, ignore_errors=True)
    seconds = row["seconds"]["headwater"]
    if seconds is None:
        note = row["errors"].get("headwater", "failed")
        return Figure(None, note=note), Figure(None, note=note)
    return Figure(seconds, note="one run"), Figure(row["peak_rss_mb"] / 1024, note="one run")


def hello_world(rounds: int, prefect: str | None) -> tuple[Figure, Figure | None]:
    """bench_hello.py: the hello-world flow's whole process on the default store (SQLite, made
    by an untimed first run), and Prefect's, in interleaved rounds; seconds. If Prefect's run
    fails (its API server may not start in time on a busy machine), headwater's is run alone."""
    def run(with_prefect: bool) -> dict[str, dict[str, Any]]:
        args = [sys.executable, str(HERE / "bench_hello.py"), "--json", "--rounds", str(rounds)]
        if with_prefect and prefect:
            args += ["--prefect-python", prefect]
        done = subprocess.run(args, capture_output=True, text=True, timeout=3600,
                              env=clean_env())
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise RuntimeError(f"bench_hello.py exited {done.returncode}: {tail[:300]}")
        return {row["target"]: row for row in json.loads(done.stdout)["rows"]}

    def figure(row: dict[str, Any]) -> Figure:
        return Figure(row["median_ms"] / 1000, row["min_ms"] / 1000, row["max_ms"] / 1000,
                      f"{row['rounds']} interleaved rounds; CPU {row['cpu_median_ms']:.0f} ms")

    try:
        found = run(with_prefect=True)
    except RuntimeError as exc:
        if not prefect:
            raise
        found, theirs = run(with_prefect=False), Figure(None, note=f"failed: {exc}")
    else:
        rows = [row for label, row in found.items() if label.startswith("hello, Prefect")]
        theirs = figure(rows[0]) if rows else None
    return figure(found["hello, SQLite (default store)"]), theirs


def import_time(python: str, engine: str, repeat: int) -> Figure:
    from bench_import import Target, measure

    statement = f"from {engine} import flow, task"
    home = tempfile.mkdtemp(prefix=f"{engine}-import-")
    try:
        result = measure(Target(statement, statement, python, {"PREFECT_HOME": home}), repeat)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return Figure(result.median_ms, result.min_ms, None, f"{repeat} fresh interpreters")


def prefect_tasks(python: str, n: int, pin: int | None) -> dict[str, Figure]:
    """Prefect per workload at a small N (it takes milliseconds per task), each engine in its
    own fresh process (run_all.py's way): µs per task ÷ the thread pool's."""
    from run_all import Engine, run_workload

    home = tempfile.mkdtemp(prefix="prefect-bench-")
    env = {"PREFECT_HOME": home, "PREFECT_LOGGING_LEVEL": "WARNING", **PREFECT_ENV}
    prefect = Engine("prefect", python, env, warmup=10, repeat=1, timeout=900.0)
    floor = Engine("threadpool", sys.executable)
    figures = {}
    try:
        for workload in ("direct", "submit", "map", "subflow"):
            k = min(n, 20) if workload == "subflow" else n  # a Prefect subflow takes ~1 s
            ours = run_workload(prefect, workload, k, 1, pin)
            base = run_workload(floor, workload, k, 3, pin)
            if "failed" in ours or "failed" in base:
                figures[workload] = Figure(None, note=ours.get("failed") or base["failed"])
                continue
            seconds = ours["seconds"]["prefect"]
            if seconds is None:
                figures[workload] = Figure(None, note=ours["errors"].get("prefect", "failed"))
                continue
            figures[workload] = Figure(seconds / base["seconds"]["ThreadPoolExecutor"],
                                       note=f"N = {k:,}, separate processes")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return figures


def memory_store(batch: int, batches: int) -> Figure:
    """bench_memory_store.py, as shipped: CPU µs per task run of the last three batches ÷ the
    first three (the mean of each three)."""
    from bench_memory_store import run_child

    result = run_child("frozen", batch, batches)
    return Figure(result["cpu_last_over_first"], note=(
        f"CPU time; wall {result['last_over_first']:.2f}×; full collections "
        f"{'/'.join(map(str, result['full_collections_first_last']))}; "
        f"{batches} flows of {batch:,} direct calls; the collector "
        f"{result['gc_us_per_task']:.1f} CPU µs per task run"))


def ray_ratio(n: int, rounds: int) -> Figure:
    """bench_ray.py on the SQLite store: RayTaskRunner ÷ bare ray.remote, round by round."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        return Figure(None, note="not measured (ray is not installed)")
    from bench_ray import run_child

    seconds = run_child("sqlite", n, rounds, 2)["seconds"]
    pairs = zip(seconds["headwater RayTaskRunner"], seconds["bare ray.remote"], strict=True)
    return Figure.of([ours / bare for ours, bare in pairs], f"N = {n:,}, {rounds} rounds")


def cancel_latency(rounds: int) -> Figure:
    """bench_cancel.py on SQLite with the writer process: request → Cancelled, seconds."""
    args = [sys.executable, str(HERE / "bench_cancel.py"), "--rounds", str(rounds),
            "--writer", "process", "--json"]
    row = json_lines(args, clean_env(), timeout=1800)[0]
    return Figure.of(row["seconds"], f"{rounds} round{'s' if rounds > 1 else ''}, a flow busy "
                                     f"with 10,000 tasks")
