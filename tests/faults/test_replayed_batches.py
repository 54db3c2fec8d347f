"""A batch written twice is stored once: what lets a writer send again a batch it is unsure of
(a writer process killed between its commit and its acknowledgement, a connection dropped
during COMMIT)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from uuid import uuid4

import pytest

from headwater.core.states import Completed, Pending, Running
from headwater.events._rows import BatchBuilder
from headwater.events.records import (
    DependencyAdded,
    FlowRunCreated,
    LogEmitted,
    StateChanged,
    TaskRunCreated,
)
from headwater.store import sql_store
from headwater.store.base import Batch, RunStore
from headwater.store.memory import MemoryStore


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[RunStore]:
    if request.param == "memory":
        yield MemoryStore()
        return
    made = sql_store(request.getfixturevalue(
        "sqlite_url" if request.param == "sqlite" else "pg_url"))
    yield made
    made.close()


def _batch(records: list[object], *, replay: bool = False) -> Batch:
    builder = BatchBuilder(set())
    builder.add_all(records)
    return builder.build(now=1.0, replay=replay)


def test_a_replayed_batch_stores_each_run_state_and_log_once(store: RunStore) -> None:
    flow_id, first, second = uuid4(), uuid4(), uuid4()
    # Given a flow run and a task run created in one batch...
    created = [
        FlowRunCreated(flow_id, "run", "f", None, {}, (), None, None, 1.0),
        StateChanged(flow_id, "flow", Running(timestamp=1.0), 1),
        TaskRunCreated(first, "t-0", "t", "t-key", flow_id, {}, (), 1.1),
        StateChanged(first, "task", Pending(timestamp=1.1), 0),
    ]
    # ...then their states, a new task run, logs and a dependency in a second one
    later = [
        StateChanged(first, "task", Running(timestamp=1.2), 1),
        StateChanged(first, "task", Completed(timestamp=1.3), 1),
        TaskRunCreated(second, "t-1", "t", "t-key", flow_id, {}, (), 1.4),
        StateChanged(second, "task", Completed(timestamp=1.5), 1),
        DependencyAdded(second, first, "x"),
        LogEmitted(flow_id, first, "user", logging.INFO, "same words", 1.6),
        LogEmitted(flow_id, first, "user", logging.INFO, "same words", 1.6),  # twice, truly
        StateChanged(flow_id, "flow", Completed(timestamp=2.0), 1),
    ]
    store.write_batch(_batch(created))
    store.write_batch(_batch(later))

    # When both are written again, as a writer does when it cannot know they were committed
    store.write_batch(_batch(created, replay=True))
    store.write_batch(_batch(later, replay=True))

    # Then every run, state, log and dependency is there once, and the flow run is final
    [run] = store.read_flow_runs()
    assert run.state_name == "Completed"
    assert [s.name for s in store.read_states(flow_id)] == ["Running", "Completed"]
    tasks = store.read_task_runs(flow_id)
    assert sorted(t.name for t in tasks) == ["t-0", "t-1"]
    assert [s.name for s in store.read_states(first)] == ["Pending", "Running", "Completed"]
    assert [s.name for s in store.read_states(second)] == ["Completed"]
    assert [log.message for log in store.read_logs(flow_id)] == ["same words"] * 2
    assert len(store.read_dependencies(flow_id)) == 1


def test_a_replay_of_an_older_batch_never_moves_a_run_back(store: RunStore) -> None:
    run_id = uuid4()
    created = [
        FlowRunCreated(run_id, "run", "f", None, {}, (), None, None, 1.0),
        StateChanged(run_id, "flow", Running(timestamp=1.0), 1),
    ]
    store.write_batch(_batch(created))
    store.write_batch(_batch([StateChanged(run_id, "flow", Completed(timestamp=2.0), 1)]))

    store.write_batch(_batch(created, replay=True))

    [run] = store.read_flow_runs()
    assert run.state_name == "Completed"
    assert [s.name for s in store.read_states(run_id)] == ["Running", "Completed"]
