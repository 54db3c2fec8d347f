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
