"""Case 2: PostgreSQL drops the writer's connections mid-run (`pg_terminate_backend`), at the
issue's scale: 150,000 task runs. The failed batches wait and are written again: every task run
is stored, and the flow run ends in its final state, with either writer.

A connection dropped while idle is made anew by the store itself before the batch is sent (as a
pool that pings would), so a single drop may never fail a batch. The test therefore drops the
connections once (the issue's case), then again and again, a few milliseconds apart, until the
writer reports a failed write: a batch has failed for certain, and had it been dropped rather
than written again, task runs would be missing. The flow calls a trivial task directly, the
cheapest way to 150,000 task runs: 16-25 s a writer on 2 busy CPUs (30,000 task runs took
about 5 s), well within the suite's budget, so the test keeps the issue's scale.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from tests.faults._db import count_task_runs, flow_states, terminate_backends
from tests.store.processes import env_for, wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes")
TASKS = 150_000
FAILED = "could not write run history"
RECOVERED = "is writing run history again"

MANY_TASKS = """
    import sys
    from headwater import flow, task

    @task
    def one(i: int) -> int:
        return i

    @flow
    def many(n: int) -> int:
        for i in range(n):
            one(i)
        return n

    many(int(sys.argv[1]))
"""


@pytest.mark.parametrize("writer", ["process", "thread"])
def test_dropped_connections_lose_none_of_150_000_task_runs_and_the_flow_run_ends_completed(
    pg_url: str, writer: str, tmp_path: Path
) -> None:
    name = f"hw_fault_{uuid.uuid4().hex[:10]}"
    err_file = tmp_path / "err"
    with err_file.open("w") as err_out:
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(MANY_TASKS), str(TASKS)],
            env=env_for(f"{pg_url}&application_name={name}", HEADWATER_STORE_WRITER=writer,
                        HEADWATER_LOGGING_LEVEL="WARNING"),
            stdout=subprocess.DEVNULL, stderr=err_out,
        )
    try:
        # When the writer's connections are dropped once, a tenth of the way in
        wait_until(lambda: count_task_runs(pg_url) >= TASKS // 10, timeout=300, every=0.05,
                   proc=proc)
        wait_until(lambda: terminate_backends(pg_url, name), timeout=60, proc=proc)
        # And then over and over from a third of the way in, until a write has failed
        wait_until(lambda: count_task_runs(pg_url) >= TASKS // 3, timeout=300, every=0.05,
                   proc=proc)
        _drop_until_a_write_fails(pg_url, name, err_file, proc)
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = err_file.read_text()

    # Then the flow's process ended normally, the writer said the store failed, every record
    # arrived, and the writer said it recovered (a writer process may still be storing when
    # the flow's process exits, the flush having waited HEADWATER_FLUSH_TIMEOUT: it goes on in
    # the background and says so on the same stderr)
    assert proc.returncode == 0, err
    assert FAILED in err, err
    assert wait_until(lambda: count_task_runs(pg_url, "Completed") == TASKS, timeout=300)
    assert wait_until(lambda: flow_states(pg_url) == ["Completed"], timeout=60)
    assert count_task_runs(pg_url) == TASKS
    assert wait_until(lambda: RECOVERED in err_file.read_text(), timeout=60), err_file.read_text()


def _drop_until_a_write_fails(
    pg_url: str, name: str, err_file: Path, proc: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + 120
    while FAILED not in err_file.read_text():
        assert proc.poll() is None, f"the flow ended before a write failed:\n{err_file.read_text()}"
        assert time.monotonic() < deadline, "no write failed within 120 s of dropped connections"
        terminate_backends(pg_url, name)
        time.sleep(0.005)
