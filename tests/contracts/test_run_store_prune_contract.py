"""`RunStore.prune`, on every store: only final runs go, never one that belongs to a run still
running; orphaned task runs go; a dry run deletes nothing; small steps delete the same."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from headwater.core.states import Completed, Running
from headwater.events.records import LogEmitted, StateChanged, TaskRunCreated
from headwater.store import FlowRunFilter, RunStore
from tests.contracts.test_run_store_contract import (
    IMPLEMENTATIONS,
    finished_flow,
    flow_created,
    write,
)

HOUR = 3600.0


@pytest.fixture(params=IMPLEMENTATIONS, ids=lambda f: f.__name__.strip("_"))
def store(request: pytest.FixtureRequest) -> Iterator[RunStore]:
    made = request.param(request)
    yield made
    made.close()


def task(task_id: UUID, flow_run_id: UUID | None, created: float, *, done: bool = True
         ) -> list[Any]:
    made: list[Any] = [TaskRunCreated(task_id, "t-1", "t", "mod.t", flow_run_id, {}, frozenset(),
                                      created)]
    made.append(StateChanged(task_id, "task", Completed() if done else Running(), 1))
    return made


def flow_ids(store: RunStore) -> set[UUID]:
    return {run.id for run in store.read_flow_runs(FlowRunFilter(limit=None))}


def test_prune_keeps_unfinished_runs_and_everything_of_a_run_still_running(
    store: RunStore,
) -> None:
    old = time.time() - 10 * HOUR
    done, running, parent, sub_done, lone_parent, sub_running = (uuid4() for _ in range(6))
    write(store, *finished_flow(done, created=old))
    write(store, flow_created(running, created=old), StateChanged(running, "flow", Running(), 1))
    # A running parent's finished subflow, and a finished parent whose subflow still runs
    write(store, flow_created(parent, created=old), StateChanged(parent, "flow", Running(), 1))
    write(store, *finished_flow(sub_done, created=old, parent=parent))
    write(store, *finished_flow(lone_parent, created=old))
    write(store, flow_created(sub_running, created=old, parent=lone_parent),
          StateChanged(sub_running, "flow", Running(), 1))
    tasks = [uuid4() for _ in range(5)]
    write(store, *task(tasks[0], running, old), *task(tasks[1], running, old, done=False),
          LogEmitted(running, tasks[0], "l", 20, "kept", old), *task(tasks[2], done, old))

    dry = store.prune(created_before=time.time(), dry_run=True)
    assert flow_ids(store) == {done, running, parent, sub_done, lone_parent, sub_running}
    result = store.prune(created_before=time.time())

    assert (dry.flow_runs, dry.task_runs, dry.kept_flow_runs) == (1, 1, 2)
    assert dry.flow_run_ids == (done,)
    assert (result.flow_runs, result.task_runs, result.kept_flow_runs) == (1, 1, 2)
    assert flow_ids(store) == {running, parent, sub_done, lone_parent, sub_running}
    assert {t.id for t in store.read_task_runs(running)} == {tasks[0], tasks[1]}
    assert [line.message for line in store.read_logs(running)] == ["kept"]
    assert store.read_task_runs(done) == []


def test_prune_removes_orphaned_task_runs_once_they_are_an_hour_old(store: RunStore) -> None:
    now = time.time()
    gone_flow = uuid4()  # never stored: as if an older prune had deleted it
    old_orphan, young_orphan, lone_old, lone_running = uuid4(), uuid4(), uuid4(), uuid4()
    write(store, *task(old_orphan, gone_flow, now - 2 * HOUR, done=False),
          *task(young_orphan, gone_flow, now - 60, done=False),
          LogEmitted(None, old_orphan, "l", 20, "orphaned", now - 2 * HOUR),
          *task(lone_old, None, now - 2 * HOUR),
          *task(lone_running, None, now - 2 * HOUR, done=False))

    result = store.prune(created_before=now, now=now)

    assert (result.orphan_task_runs, result.task_runs) == (1, 1)
    assert store.read_task_runs(gone_flow)[0].id == young_orphan
    assert store.read_task_runs_by_id([old_orphan, lone_old, lone_running]) == [
        store.read_task_run(lone_running)]
    assert store.prune(created_before=now + 2 * HOUR, now=now + 2 * HOUR).orphan_task_runs == 1


def test_prune_in_small_steps_deletes_the_same(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("headwater.store.sql_prune.TASK_RUNS_PER_STEP", 3)
    monkeypatch.setattr("headwater.store.sql_prune.FLOW_RUNS_PER_STEP", 2)
    old = time.time() - HOUR
    flows = [uuid4() for _ in range(5)]
    for flow in flows:
        write(store, *finished_flow(flow, created=old),
              *[record for _ in range(7) for record in task(uuid4(), flow, old)])
    keep = uuid4()
    write(store, *finished_flow(keep), *task(uuid4(), keep, time.time()))

    result = store.prune(created_before=time.time() - 60)

    assert (result.flow_runs, result.task_runs) == (5, 35)
    assert flow_ids(store) == {keep} and len(store.read_task_runs(keep)) == 1
