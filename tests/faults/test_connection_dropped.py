"""Case 2: PostgreSQL drops the writer's connections mid-run (`pg_terminate_backend`). The
failed batches wait and are written again: every task run is stored, and the flow run ends in
its final state, with either writer."""

from __future__ import annotations

import sys
import uuid

import pytest

from tests.faults._db import count_task_runs, flow_states, terminate_backends
from tests.store.processes import start, wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes")
TASKS = 30_000

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
def test_dropped_connections_lose_no_task_run_and_the_flow_run_ends_completed(
    pg_url: str, writer: str
) -> None:
    name = f"hw_fault_{uuid.uuid4().hex[:10]}"
    url = f"{pg_url}&application_name={name}"
    proc = start(MANY_TASKS, url, str(TASKS), HEADWATER_STORE_WRITER=writer,
                 HEADWATER_LOGGING_LEVEL="WARNING")

    # When the writer's connections are dropped, twice, while task runs are being stored
    for stored in (TASKS // 10, TASKS // 2):
        wait_until(lambda n=stored: count_task_runs(pg_url) >= n, timeout=300, every=0.05,
                   proc=proc)
        wait_until(lambda: terminate_backends(pg_url, name), timeout=60, proc=proc)
    _, err = proc.communicate(timeout=600)

    # Then the flow's process ended normally, and every record arrived
    assert proc.returncode == 0, err
    assert wait_until(lambda: count_task_runs(pg_url, "Completed") == TASKS, timeout=300)
    assert wait_until(lambda: flow_states(pg_url) == ["Completed"], timeout=60)
    assert count_task_runs(pg_url) == TASKS
    assert err.count("could not write run history") <= 1, err
