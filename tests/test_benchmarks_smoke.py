"""The benchmark suite runs end to end at a tiny N. No timing is checked here, ever.

`benchmarks/run_all.py --quick --n-max 200` runs every workload (direct calls, submit, map,
subflows, Dask on a threaded LocalCluster) on the thread-pool floor and on headwater, each in a
fresh process, and prints the tables. The figures themselves are read by a person (README).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

RUN_ALL = Path(__file__).resolve().parents[1] / "benchmarks" / "run_all.py"


def test_run_all_quick_at_a_tiny_n_exits_0_and_prints_the_tables(tmp_path: Path) -> None:
    # Given an environment whose temporary folders (the runs' HEADWATER_HOME) are under tmp_path
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADWATER_", "PREFECT_"))}
    env.update(PYTHONIOENCODING="utf-8", TMPDIR=str(tmp_path))

    # When the whole suite runs at N = 200, without the slower process-based Dask cluster
    done = subprocess.run(
        [sys.executable, str(RUN_ALL), "--quick", "--n-max", "200", "--dask", "threads"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
    )

    # Then it succeeds and prints both tables, a row per workload, and the targets
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "HEADWATER_LOGGING_LEVEL=WARNING" in out
    assert "median ms" in out and "import headwater; from headwater import flow, task" in out
    assert "µs/task" in out and "× floor" in out and "peak RSS MB" in out
    for workload in ("direct", "submit", "map", "subflow"):
        assert f"{workload:<15} {200:>8,}  headwater " in out, workload
    assert "ThreadPoolExecutor (floor)" in out
    assert "Targets (reported, not asserted):" in out
    assert "prefect: not measured" in out
    assert "n/a" not in out.split("Per-task overhead")[1], out  # every case was measured


REPORT = RUN_ALL.parent / "report.py"


def test_report_quick_rewrites_only_the_table_between_the_markers(tmp_path: Path) -> None:
    # Given a README with text around the report's markers, and a clean environment
    readme = tmp_path / "README.md"
    readme.write_text(
        "# before\n\n<!-- report:begin -->\nold table\n<!-- report:end -->\n\nafter\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADWATER_", "PREFECT_"))}
    env.update(PYTHONIOENCODING="utf-8", TMPDIR=str(tmp_path))

    # When the report runs at a tiny N (the timeout only stops a hang)
    done = subprocess.run(
        [sys.executable, str(REPORT), "--quick", "--n-max", "200", "--readme", str(readme)],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=600,
    )

    # Then the table between the markers is new, with a row per target, and the rest is kept
    assert done.returncode == 0, done.stderr
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# before\n\n<!-- report:begin -->\n| what | N |")
    assert text.endswith("<!-- report:end -->\n\nafter\n")
    assert "old table" not in text
    for row in ("direct task call", "`.submit` + result", "`.map` + result", "subflow call",
                "INFO console logging", "mapped tasks in one `.map`", "peak RSS",
                "hello-world flow", "`from headwater import flow, task`", "HEADWATER_STORE=memory"):
        assert row in text, row
    assert "≤ 3×" in text and "load average" in text
    assert "not measured" not in text.split("<!-- report:end -->")[0], text


OVERHEAD = RUN_ALL.parent / "bench_overhead.py"


def test_a_pinned_overhead_run_finds_the_writer_process_and_reports_its_cpu(
    tmp_path: Path,
) -> None:
    # Given a clean environment (the default SQLite store, so a writer process starts)
    if not hasattr(os, "sched_setaffinity") or not Path("/proc/self/task").is_dir():
        import pytest

        pytest.skip("pinning and /proc are Linux features")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADWATER_", "PREFECT_"))}
    env.update(PYTHONIOENCODING="utf-8", TMPDIR=str(tmp_path))

    # When one small workload runs pinned to CPU 0 (the writer goes to the other CPUs)
    done = subprocess.run(
        [sys.executable, str(OVERHEAD), "--json", "--n", "300", "--rounds", "1",
         "--workload", "direct", "--pin", "0"],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=120,
    )

    # Then the row found the writer process and counted its CPU time
    assert done.returncode == 0, done.stderr
    import json

    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert row["workload"] == "direct" and row["n"] == 300
    assert row["writer_processes"] == 1
    assert row["writer_cpu_us"] >= 0.0
