"""`benchmarks/bench_hello.py` runs end to end in one round. No timing is checked here, ever."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH_HELLO = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_hello.py"


def test_bench_hello_times_every_target_and_prints_json(tmp_path: Path) -> None:
    # Given an environment whose temporary folders (the runs' HEADWATER_HOME) are under tmp_path
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADWATER_", "PREFECT_"))}
    env.update(TMPDIR=str(tmp_path))

    # When one round runs, the first run on a new SQLite file included
    done = subprocess.run([sys.executable, str(BENCH_HELLO), "--rounds", "1", "--fresh", "--json"],
                          capture_output=True, text=True, env=env, timeout=300)

    # Then every target has its row, and the scratch folder is gone
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert [row["target"] for row in rows] == [
        "python -c pass (floor)", "hello, HEADWATER_STORE=memory",
        "hello, SQLite (default store)", "hello, SQLite, first run (new file)",
    ]
    assert all(row["rounds"] == 1 and row["median_ms"] > 0 for row in rows)
    assert list(tmp_path.iterdir()) == []
