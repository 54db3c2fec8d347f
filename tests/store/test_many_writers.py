"""Many processes writing to one store at once lose nothing and never show a lock error."""

from __future__ import annotations

import pytest

from headwater.store import FlowRunFilter
from tests.store.processes import opened, start

PROCESSES = 4
TASKS = 2_000

WRITER = """
    import sys
    from headwater import flow, task

    @task
    def inc(x: int) -> int:
        return x + 1

    @flow
    def writer(worker: int, n: int) -> int:
        return sum(inc(i) for i in range(n))

    writer(int(sys.argv[1]), int(sys.argv[2]))
"""


def run_writers(url: str) -> None:
    # A short batch window means many small transactions: the most contention we can make.
    procs = [
        start(WRITER, url, str(k), str(TASKS), HEADWATER_STORE_BATCH_SECONDS="0.01",
              HEADWATER_LOGGING_LEVEL="WARNING")
        for k in range(PROCESSES)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]

    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "database is locked" not in (out + err).lower(), err  # SQLite's own error
        assert "could not write" not in err, err


def assert_every_record_is_present(url: str) -> None:
    with opened(url) as store:
        check_runs(store)


def check_runs(store: object) -> None:
    runs = store.read_flow_runs(FlowRunFilter(flow_name="writer", limit=None))  # type: ignore[attr-defined]
    assert sorted(r.parameters["worker"] for r in runs) == list(range(PROCESSES))
    for run in runs:
        assert run.state_name == "Completed"
        states = store.read_states(run.id)  # type: ignore[attr-defined]
        assert [s.name for s in states] == ["Pending", "Running", "Completed"]
        tasks = store.read_task_runs(run.id)  # type: ignore[attr-defined]
        assert len(tasks) == TASKS
        assert {t.state_name for t in tasks} == {"Completed"}
        assert sorted(int(t.result or 0) for t in tasks) == list(range(1, TASKS + 1))
        assert [s.name for s in store.read_states(tasks[-1].id)] == [  # type: ignore[attr-defined]
            "Pending", "Running", "Completed"
        ]


@pytest.mark.timeout(180)
def test_four_processes_writing_one_new_sqlite_file_lose_no_record(sqlite_url: str) -> None:
    run_writers(sqlite_url)

    assert_every_record_is_present(sqlite_url)


@pytest.mark.timeout(180)
def test_four_processes_writing_one_postgresql_database_lose_no_record(pg_url: str) -> None:
    run_writers(pg_url)

    assert_every_record_is_present(pg_url)
