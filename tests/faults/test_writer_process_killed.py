"""Case 1: the writer process is killed mid-run. The flow's process writes what the writer had
not acknowledged, some of which the writer may have committed already: the replay is harmless,
nothing is dropped, and the run ends in its final state."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator

import pytest

from headwater import flow, task
from headwater.engine.runtime import use_sink
from headwater.events.store import StoreSink
from headwater.store import sql_store
from headwater.store.sql import SqlRunStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals")
TASKS = 3_000


@task
def square(x: int) -> int:
    return x * x


@flow
def many(n: int, started: threading.Event) -> int:
    total = 0
    for i in range(n):
        if i == n // 3:
            started.set()  # the killer strikes while this flow is still emitting
        total += square(i)
    return total


@pytest.fixture
def store(url: str) -> Iterator[SqlRunStore]:
    made = sql_store(url)
    yield made
    made.close()


@pytest.mark.parametrize("trial", range(3))
def test_a_killed_writer_process_loses_no_record_and_the_run_ends_completed(
    store: SqlRunStore, caplog: pytest.LogCaptureFixture, trial: int
) -> None:
    sink = StoreSink(store.url, writer="process", batch_seconds=0.01)
    started = threading.Event()

    def kill_the_writer() -> None:
        started.wait(60)
        pid = sink.writer_pid
        if pid is not None:
            os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_the_writer)
    killer.start()
    with caplog.at_level(logging.WARNING, logger="headwater.store"), use_sink(sink):
        assert many(TASKS, started) == sum(i * i for i in range(TASKS))
        killer.join(60)
        assert many(10, threading.Event()) == 285  # after the fallback, too
    sink.close()

    runs = store.read_flow_runs()
    assert sorted(run.state_name for run in runs) == ["Completed", "Completed"]
    tasks = [t for run in runs for t in store.read_task_runs(run.id)]
    assert len(tasks) == TASKS + 10
    assert {t.state_name for t in tasks} == {"Completed"}
    for run in runs:  # each state once, in order: nothing applied twice
        assert [s.name for s in store.read_states(run.id)] == ["Pending", "Running", "Completed"]
    for t in tasks[:: TASKS // 50]:
        assert [s.name for s in store.read_states(t.id)] == ["Pending", "Running", "Completed"]
    messages = [r.getMessage() for r in caplog.records if r.name == "headwater.store"]
    assert not [m for m in messages if "could not write" in m], messages
