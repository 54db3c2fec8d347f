"""The SQL stores keep the sums of a final flow run: read once while nothing changes, read
again when something does, never kept while the run is running."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from headwater.core.states import Completed, Running
from headwater.events._rows import BatchBuilder
from headwater.events.records import DependencyAdded, FlowRunCreated, StateChanged, TaskRunCreated
from headwater.store import sql_store
from headwater.store.sql import SqlRunStore
from headwater.store.sql_pages import AggregateCache


@pytest.fixture(params=["sqlite_url", "pg_url"], ids=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[SqlRunStore]:
    made = sql_store(request.getfixturevalue(request.param))
    yield made
    made.close()


def _write(store: SqlRunStore, *records: Any) -> None:
    builder = BatchBuilder(set())
    builder.add_all(records)
    store.write_batch(builder.build(now=time.time()))


def _flow(run_id: UUID, *states: Any) -> list[Any]:
    return [FlowRunCreated(run_id, "r", "f", None, {}, frozenset(), None, None, 1.0),
            *(StateChanged(run_id, "flow", state, 1) for state in states)]


def _tasks(run_id: UUID, n: int) -> list[Any]:
    ids = [uuid4() for _ in range(n)]
    return [record for i, task_id in enumerate(ids) for record in (
        TaskRunCreated(task_id, f"t-{i}", "t", "m.t", run_id, {}, frozenset(), 1.0 + i),
        StateChanged(task_id, "task", Completed(timestamp=2.0 + i), 1),
        *([DependencyAdded(task_id, ids[i - 1], "x")] if i else []))]


def _count_reads(store: SqlRunStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    for name in ("_read_task_run_summary", "_read_dependency_summary"):
        original = getattr(store, name)
        monkeypatch.setattr(store, name, lambda run_id, name=name, original=original: (
            reads.append(name), original(run_id))[1])
    return reads


def test_a_final_flow_runs_sums_are_read_once_while_nothing_changes(
    store: SqlRunStore, monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_id = uuid4()
    _write(store, *_flow(run_id, Running(), Completed()), *_tasks(run_id, 5))
    reads = _count_reads(store, monkeypatch)

    for _ in range(3):
        assert store.task_run_summary(run_id)[0].total == 5
        assert store.dependency_summary(run_id)[0].count == 4

    assert reads == ["_read_task_run_summary", "_read_dependency_summary"]


def test_a_running_flow_runs_sums_are_read_every_time(
    store: SqlRunStore, monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_id = uuid4()
    _write(store, *_flow(run_id, Running()), *_tasks(run_id, 2))
    reads = _count_reads(store, monkeypatch)

    store.task_run_summary(run_id)
    store.task_run_summary(run_id)

    assert reads == ["_read_task_run_summary"] * 2


def test_the_cache_keeps_the_most_recently_used_sums_under_their_token() -> None:
    cache = AggregateCache(size=2)
    cache.put(("tasks", "a"), (1,), ["a"])
    cache.put(("tasks", "b"), (1,), ["b"])
    assert cache.get(("tasks", "a"), (1,)) == ["a"]  # now the most recently used

    cache.put(("tasks", "c"), (1,), ["c"])

    assert cache.get(("tasks", "b"), (1,)) is None
    assert cache.get(("tasks", "a"), (2,)) is None  # another token: not this value
    assert cache.get(("tasks", "a"), (1,)) == ["a"] and cache.get(("tasks", "c"), (1,)) == ["c"]
