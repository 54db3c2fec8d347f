"""Nothing is lost on a normal exit, an exception, Ctrl-C or SIGTERM. (What a kill -9 keeps is
tested in tests/faults/test_kill_9.py, on records; how many seconds it loses is measured in
benchmarks/bench_kill.py.)"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from contextlib import closing

import pytest

from tests.store.processes import flow_runs, start, wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

NO_FLOW = """
    from headwater import task

    @task
    def one() -> int:
        return 1

    for _ in range(50):
        one()   # task runs outside any flow: only the exit flush stores them
"""

FAILING = """
    from headwater import flow

    @flow
    def fails() -> None:
        raise ValueError("bad input")

    fails()
"""

INTERRUPTIBLE = """
    import time
    from headwater import flow

    @flow
    def waits() -> None:
        time.sleep(60)

    waits()
"""


def _db_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def test_records_still_queued_at_a_normal_exit_are_stored(sqlite_url: str) -> None:
    proc = start(NO_FLOW, sqlite_url, HEADWATER_STORE_BATCH_SECONDS="1.0")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err

    with closing(sqlite3.connect(_db_path(sqlite_url))) as conn:
        rows = conn.execute("SELECT state_name, count(*) FROM task_runs GROUP BY 1").fetchall()
    assert rows == [("Completed", 50)]


@pytest.fixture(params=["sqlite_url", "pg_url"], ids=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def test_a_flow_that_raises_out_of_the_program_is_stored_failed(url: str) -> None:
    proc = start(FAILING, url)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "ValueError: bad input" in err

    [run] = flow_runs(url)
    assert run.state_name == "Failed" and "bad input" in (run.state_message or "")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_flow_run_is_stored_crashed(url: str, signum: int) -> None:
    proc = start(INTERRUPTIBLE, url, HEADWATER_STORE_BATCH_SECONDS="0.02")
    wait_until(lambda: [r for r in flow_runs(url) if r.state_name == "Running"])

    os.kill(proc.pid, signum)
    proc.communicate(timeout=60)

    assert proc.returncode != 0
    [run] = flow_runs(url)
    assert run.state_name == "Crashed"
