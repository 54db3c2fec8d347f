"""Every code example of the tutorial, byte for byte (tests/acceptance/seed/), run through the
Prefect shim in a subprocess, showing what the tutorial says it shows."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SEED = Path(__file__).parent / "seed"
HARNESS = Path(__file__).parent / "harness.py"


def run_shim(script: str, *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m headwater.compat seed/<script>`, exactly as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "headwater.compat", str(SEED / script)],
        capture_output=True, text=True, timeout=timeout, cwd=SEED,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def run_recorded(script: str, tmp_path: Path) -> dict[str, Any]:
    """The same, through the harness: frozen engine clock, every run record summarised."""
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, str(HARNESS), str(report), str(SEED / script)],
        capture_output=True, text=True, timeout=120, cwd=SEED,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert report.exists(), done.stderr
    summary: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    summary["stdout"], summary["stderr"] = done.stdout, done.stderr
    return summary


# sha256 (first 16 hex digits) of each example as the tutorial gives it: a formatter or a
# hand edit that touches one of them fails here.
SEED_SHA256 = {
    "01_basic_flow.py": "42609e89f3787114",
    "02_class_flows.py": "3643961bef10fb95",
    "03_nested_flows.py": "97ddade463fd20af",
    "04_assets.py": "798459b259525aa4",
    "05_retries.py": "4ebba92d4b78ff4d",
    "06_retry_condition.py": "58de5bfbc869b7e2",
    "07_submit.py": "ca97f942a2636b74",
    "08_map_unmapped.py": "3d76b69dbb1f37b0",
}


def test_the_seed_examples_are_copied_byte_for_byte() -> None:
    found = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in SEED.glob("*.py")
    }
    assert found == SEED_SHA256


def test_the_basic_flow_prints_hello_world() -> None:
    done = run_shim("01_basic_flow.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello world\n"
    assert "Beginning flow run" in done.stderr and "for flow 'test-flow'" in done.stderr
    assert "Finished in state Completed()" in done.stderr


def test_the_class_flows_run_on_instance_class_and_static_methods() -> None:
    done = run_shim("02_class_flows.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["实例方法流水线", "类方法流水线", "静态方法流水线"]
    assert done.stderr.count("Finished in state Completed()") == 3


def test_the_nested_flow_reports_the_parity_of_its_number(tmp_path: Path) -> None:
    done = run_shim("03_nested_flows.py")
    assert done.returncode == 0, done.stderr
    match = re.fullmatch(r"the number (\d+) is (even|odd)\n", done.stdout)
    assert match, done.stdout
    number, parity = int(match.group(1)), match.group(2)
    assert 0 <= number <= 100 and parity == ("even" if number % 2 == 0 else "odd")
    assert "Beginning subflow run" in done.stderr and "for flow 'even number'" in done.stderr

    summary = run_recorded("03_nested_flows.py", tmp_path)
    parent, child = summary["flow_runs"]
    assert (parent["flow_name"], child["flow_name"]) == ("even or odd", "even number")
    assert child["parent"] is not None
    assert [t["task_name"] for t in summary["task_runs"]] == ["generate_a_number"]


def test_the_assets_example_records_a_materialization(tmp_path: Path) -> None:
    summary = run_recorded("04_assets.py", tmp_path)
    assert summary["exit_code"] == 0, summary["stderr"]
    [flow_run] = summary["flow_runs"]
    assert (flow_run["name"], flow_run["flow_name"]) == ("数据处理运行中", "数据处理")
    assert summary["events"] == [{"name": "headwater.asset.materialization.succeeded",
                                  "resource": "s3://my-bucket/processed-data.csv"}]
    assert [t["task_name"] for t in summary["task_runs"]] == ["process_data"]


def test_the_retry_example_retries_the_task_and_the_flow_with_the_delays_it_sets(
    tmp_path: Path,
) -> None:
    # retry_flow(3): the task has retries=2 with exponential_backoff(2) -> waits 2 s, 4 s;
    # the flow has retries=2, retry_delay_seconds=1 -> the whole flow runs three times.
    summary = run_recorded("05_retries.py", tmp_path)
    assert summary["exit_code"] == 0, summary["stderr"]  # the script catches the failure
    assert summary["slept"] == [2, 4, 1, 2, 4, 1, 2, 4]
    [flow_run] = summary["flow_runs"]
    assert flow_run["states"] == [
        "Pending", "Running", "AwaitingRetry", "Running", "AwaitingRetry", "Running", "Failed",
    ]
    runs = summary["task_runs"]
    assert [t["task_name"] for t in runs] == ["retry_task_3"] * 3
    for run in runs:
        assert run["states"] == [
            "Pending", "Running", "AwaitingRetry", "Retrying", "AwaitingRetry", "Retrying",
            "Failed",
        ]
    messages = "\n".join(summary["messages"])
    assert "Retry 1/2 will start 2 second(s) from now" in messages
    assert "Retry 2/2 will start 4 second(s) from now" in messages
    assert "Retries are exhausted" in messages


def test_the_retry_condition_example_retries_once_when_the_request_fails(
    tmp_path: Path,
) -> None:
    # Offline, httpx.get raises a connection error; retry_handler sees the failure in
    # state.result() and returns True, so the task runs twice (retries=1), then fails.
    summary = run_recorded("06_retry_condition.py", tmp_path)
    assert summary["exit_code"] == 0, summary["stderr"]
    [task_run] = summary["task_runs"]
    assert task_run["task_name"] == "api_call_task"
    if task_run["states"][-1] == "Completed":  # a machine with network access
        pytest.skip("the request succeeded: this machine can reach the network")
    assert task_run["states"] == ["Pending", "Running", "Retrying", "Failed"]
    [flow_run] = summary["flow_runs"]
    assert flow_run["flow_name"] == "重试条件" and flow_run["states"][-1] == "Failed"


def test_the_submit_example_runs_ten_tasks_and_logs_their_prints() -> None:
    done = run_shim("07_submit.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # log_prints turns every print into a log line
    for i in range(10):
        for part in (1, 2):
            assert re.search(rf"Task run '测试并发-[0-9a-f]{{3}}' - 第{i}个任务{part}$",
                             done.stderr, re.M), done.stderr
    assert done.stderr.count("Finished in state Completed()") == 11


def test_the_map_example_prints_10_11_12() -> None:
    done = run_shim("08_map_unmapped.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[10, 11, 12]\n"
    assert done.stderr.count("Task run 'map_unmap-") == 3
