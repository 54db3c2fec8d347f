"""Case 3: `kill -9` of the flow's process. The flow run's row is stored before its first task
runs (with either writer), and with the writer process every task run the flow reported
complete before a barrier is stored, also after a burst on PostgreSQL.

How many seconds of records a kill loses is measured in benchmarks/bench_kill.py, not here."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.faults._db import flow_states, scalar
from tests.store.processes import start, wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

# Runs `before` tasks, writes the barrier, then keeps completing task runs in a tight loop
# (a burst) until it is killed.
BARRIER_THEN_BURST = """
    import sys
    from pathlib import Path
    from headwater import flow, task

    @task
    def step(i: int) -> int:
        return i

    @flow
    def endless(before: int, barrier: Path) -> None:
        for i in range(before):
            step(i)
        barrier.write_text(str(before))
        i = before
        while True:
            step(i)
            i += 1

    endless(int(sys.argv[1]), Path(sys.argv[2]))
"""
# Margin between the barrier and the kill: the pump hands records to the writer process every
# 0.05 s; this is forty times that, so a busy machine does not make the test flaky.
MARGIN = 2.0


def _stored_results(url: str, upto: int) -> int:
    return int(scalar(url, "SELECT count(*) FROM task_runs WHERE state_name = 'Completed' "
                           "AND CAST(result AS INTEGER) < :n", n=upto) or 0)


def _kill_after_barrier(url: str, writer: str, before: int, tmp_path: Path,
                        margin: float) -> None:
    barrier = tmp_path / "barrier"
    proc = start(BARRIER_THEN_BURST, url, str(before), str(barrier),
                 HEADWATER_STORE_WRITER=writer, HEADWATER_LOGGING_LEVEL="WARNING")
    wait_until(barrier.exists, timeout=120, proc=proc)
    time.sleep(margin)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)


def test_after_kill_9_every_task_run_completed_before_the_barrier_is_stored(
    url: str, tmp_path: Path
) -> None:
    before = 2_000
    _kill_after_barrier(url, "process", before, tmp_path, MARGIN)

    # The writer process commits what it was sent, after the flow's process is gone
    assert wait_until(lambda: _stored_results(url, before) == before, timeout=120)
    assert flow_states(url) == ["Running"]  # until crash detection marks it


def test_with_the_thread_writer_the_flow_run_is_stored_before_its_first_task_runs(
    url: str, tmp_path: Path
) -> None:
    # Killed at once after its first task run: the row was committed before that task ran
    _kill_after_barrier(url, "thread", 1, tmp_path, 0.0)

    assert len(flow_states(url)) == 1
