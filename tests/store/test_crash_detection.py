"""A flow run whose process dies is marked Crashed by the next process that opens the store,
or by `headwater runs ls`; a run whose process is alive keeps heartbeating and is left alone."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from headwater.store.history import list_runs
from tests.store.processes import flow_runs, opened, start, wait_until

FAST = {"HEADWATER_HEARTBEAT_SECONDS": "0.05", "HEADWATER_CRASH_AFTER_SECONDS": "0.5",
        "HEADWATER_STORE_BATCH_SECONDS": "0.02"}

SLEEPER = """
    import time
    from headwater import flow, task

    @task
    def nap() -> None:
        time.sleep(120)

    @flow
    def sleeper() -> None:
        nap()

    sleeper()
"""

OTHER_PROCESS = """
    from headwater import flow

    @flow
    def other() -> int:
        return 1

    other()
"""


def running_run(url: str) -> object:
    runs = flow_runs(url)
    return runs[0] if runs and runs[0].state_name == "Running" else None


@pytest.fixture(params=["sqlite_url", "pg_url"], ids=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")
def test_a_killed_flow_run_is_marked_crashed_by_the_next_process_that_opens_the_store(
    url: str,
) -> None:
    proc = start(SLEEPER, url, **FAST)
    run = wait_until(lambda: running_run(url))
    time.sleep(0.7)  # longer than the crash bound: heartbeats keep the live run Running
    assert flow_runs(url)[0].state_name == "Running"

    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    time.sleep(0.6)  # the bound: 0.5 s without a heartbeat
    other = start(OTHER_PROCESS, url, **FAST)
    other.communicate(timeout=60)

    with opened(url) as store:
        crashed = store.read_flow_run(run.id)
        assert crashed.state_name == "Crashed"
        assert "stopped sending heartbeats" in (crashed.state_message or "")
        assert [t.state_name for t in store.read_task_runs(run.id)] == ["Crashed"]


@pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")
def test_listing_runs_marks_a_killed_flow_run_crashed(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = start(SLEEPER, url, **FAST)
    run = wait_until(lambda: running_run(url))
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    monkeypatch.setenv("HEADWATER_HEARTBEAT_SECONDS", "0.05")
    monkeypatch.setenv("HEADWATER_CRASH_AFTER_SECONDS", "0.5")

    def listed_state() -> str | None:
        with opened(url) as store:
            [listed] = list_runs(store)
        return listed.state_name if listed.state_name == "Crashed" else None

    assert wait_until(listed_state, timeout=5) == "Crashed"
    assert [r.state_name for r in flow_runs(url)] == ["Crashed"]
    assert run is not None
