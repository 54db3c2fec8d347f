"""The tutorial's retry, retry-condition, submit and map examples written with headwater
imports (examples/), behaving as the tutorial describes — with the thread pool and with Dask."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
HARNESS = ROOT / "tests" / "acceptance" / "harness.py"


def recorded(script: str, *args: str, tmp_path: Path) -> dict[str, Any]:
    """Run an example with the engine clock frozen (delays recorded, not slept)."""
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, str(HARNESS), str(report), str(EXAMPLES / script),
                           *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert report.exists(), done.stderr
    summary: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    summary["stderr"] = done.stderr
    return summary


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True,
                          text=True, timeout=180, env={**os.environ, "PYTHONIOENCODING": "utf-8"})


@pytest.mark.parametrize(("which", "task_delays"), [
    ("1", [5, 5]),   # retry_delay_seconds=5
    ("2", [2, 4]),   # retry_delay_seconds=[2, 4]
    ("3", [2, 4]),   # exponential_backoff(backoff_factor=2)
])
def test_retry_flow_runs_each_task_three_times_per_flow_attempt_with_its_delays(
    which: str, task_delays: list[int], tmp_path: Path
) -> None:
    summary = recorded("retries.py", which, tmp_path=tmp_path)
    assert summary["exit_code"] == 0, summary["stderr"]
    # three flow attempts (retries=2, 1 s apart), each with three task attempts
    assert summary["slept"] == [*task_delays, 1, *task_delays, 1, *task_delays]
    assert [t["task_name"] for t in summary["task_runs"]] == [f"retry_task_{which}"] * 3
    for run_ in summary["task_runs"]:
        assert run_["states"].count("Retrying") == 2 and run_["states"][-1] == "Failed"
    [flow_run] = summary["flow_runs"]
    assert flow_run["states"].count("Running") == 3 and flow_run["states"][-1] == "Failed"


def test_retry_condition_example_retries_the_failed_request_once(tmp_path: Path) -> None:
    summary = recorded("retry_condition.py", tmp_path=tmp_path)
    assert summary["exit_code"] == 0, summary["stderr"]
    [task_run] = summary["task_runs"]
    if task_run["states"][-1] == "Completed":
        pytest.skip("the request succeeded: this machine can reach the network")
    assert task_run["states"] == ["Pending", "Running", "Retrying", "Failed"]


def test_retries_really_wait_their_delays_end_to_end(tmp_path: Path) -> None:
    script = tmp_path / "small_delays.py"
    script.write_text(
        "import time\nfrom headwater import task\n"
        "starts = []\n"
        "@task(retries=2, retry_delay_seconds=[0.05, 0.1])\n"
        "def flaky():\n"
        "    starts.append(time.monotonic())\n"
        "    if len(starts) < 3:\n"
        "        raise ValueError('again')\n"
        "flaky()\n"
        "print(round(starts[1] - starts[0], 2), round(starts[2] - starts[1], 2))\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    first, second = (float(x) for x in done.stdout.split())
    assert first >= 0.05 and second >= 0.1  # at least the delays; a busy machine adds to them


@pytest.mark.parametrize("runner", ["thread", "dask"])
def test_submit_example_logs_every_print_of_its_ten_tasks(runner: str) -> None:
    done = run("submit.py", runner)
    assert done.returncode == 0, done.stderr
    for i in range(10):
        assert re.search(rf"Task run '测试并发-[0-9a-f]{{3}}' - 第{i}个任务2$", done.stderr, re.M)


@pytest.mark.parametrize("runner", ["thread", "dask"])
def test_map_example_prints_10_11_12(runner: str) -> None:
    done = run("map_unmapped.py", runner)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[10, 11, 12]"
