"""A crash-after time shorter than two heartbeats is refused before anything is recorded: with
less slack than that, live runs were marked Crashed while they ran (history Pending → Running →
Crashed → Completed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from headwater.errors import SettingError
from headwater.events.store import StoreSink
from tests.store.processes import env_for, flow_runs, opened, start

FLOW = """
    from headwater import flow, task

    @task
    def one() -> int:
        return 1

    @flow
    def short() -> int:
        return one() + one()

    short()
"""


def test_a_flow_with_crash_after_below_two_heartbeats_is_refused_and_records_nothing(
    url: str,
) -> None:
    proc = start(FLOW, url, HEADWATER_HEARTBEAT_SECONDS="5", HEADWATER_CRASH_AFTER_SECONDS="6")
    _out, err = proc.communicate(timeout=120)

    assert proc.returncode != 0
    assert "HEADWATER_CRASH_AFTER_SECONDS=6 is too short for HEADWATER_HEARTBEAT_SECONDS=5" in err
    assert "at least 10" in err
    assert flow_runs(url) == []


def test_a_flow_with_crash_after_of_two_heartbeats_runs_and_is_never_marked_crashed(
    url: str,
) -> None:
    proc = start(FLOW, url, HEADWATER_HEARTBEAT_SECONDS="5", HEADWATER_CRASH_AFTER_SECONDS="10")
    _out, err = proc.communicate(timeout=120)

    assert proc.returncode == 0, err
    [run] = flow_runs(url)
    with opened(url) as store:
        history = [state.name for state in store.read_states(run.id)]
        tasks = store.read_task_runs(run.id)
    assert history == ["Pending", "Running", "Completed"]
    assert [task.state_name for task in tasks] == ["Completed", "Completed"]


def test_the_cli_refuses_crash_after_below_two_heartbeats_naming_both_values(
    sqlite_url: str,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "headwater.cli.main", "runs", "ls"],
        env=env_for(sqlite_url, HEADWATER_HEARTBEAT_SECONDS="2",
                    HEADWATER_CRASH_AFTER_SECONDS="3.5"),
        capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 1
    assert "HEADWATER_CRASH_AFTER_SECONDS=3.5" in result.stderr
    assert "HEADWATER_HEARTBEAT_SECONDS=2" in result.stderr
    assert "at least 4" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_store_sink_refuses_crash_after_below_two_heartbeats(sqlite_url: str) -> None:
    with pytest.raises(SettingError, match=r"crash_after_seconds=1 .* heartbeat_seconds=1"):
        StoreSink(sqlite_url, writer="thread", heartbeat_seconds=1, crash_after_seconds=1)
