"""The `RunStore` contract: every store behaves the same. A new store is one more line in
IMPLEMENTATIONS (memory, SQLite under tmp_path, PostgreSQL in a schema of its own)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from headwater.core.states import Completed, Failed, Pending, Running
from headwater.errors import RunNotFoundError
from headwater.events._rows import BatchBuilder
from headwater.events.records import (
    DependencyAdded,
    Event,
    FlowRunCreated,
    LogEmitted,
    RunRenamed,
    StateChanged,
    TaskRunCreated,
)
from headwater.store import FlowRunFilter, MemoryStore, RunStore, sql_store


def _memory(request: pytest.FixtureRequest) -> RunStore:
    return MemoryStore()


def _sqlite(request: pytest.FixtureRequest) -> RunStore:
    return sql_store(request.getfixturevalue("sqlite_url"))


def _postgres(request: pytest.FixtureRequest) -> RunStore:
    return sql_store(request.getfixturevalue("pg_url"))


IMPLEMENTATIONS: list[Callable[[pytest.FixtureRequest], RunStore]] = [_memory, _sqlite, _postgres]


@pytest.fixture(params=IMPLEMENTATIONS, ids=lambda f: f.__name__.strip("_"))
def store(request: pytest.FixtureRequest) -> Iterator[RunStore]:
    made = request.param(request)
    yield made
    made.close()


def write(store: RunStore, *records: Any, running: set[str] | None = None) -> None:
    """Store records the way the store sink's writer does: folded into one batch."""
    builder = BatchBuilder(running if running is not None else set())
    builder.add_all(records)
    store.write_batch(builder.build(now=time.time()))


def flow_created(
    run_id: UUID, *, name: str = "brave-otter", flow: str = "etl", created: float | None = None,
    parameters: dict[str, Any] | None = None, parent: UUID | None = None,
) -> FlowRunCreated:
    return FlowRunCreated(
        run_id, name, flow, None, parameters or {"n": 1}, frozenset({"nightly"}), parent, None,
        time.time() if created is None else created,
    )


def task_created(task_id: UUID, flow_run_id: UUID | None, *, name: str = "add-1") -> TaskRunCreated:
    return TaskRunCreated(task_id, name, "add", "mod.add", flow_run_id, {"x": 1}, frozenset(),
                          time.time())


def finished_flow(run_id: UUID, **kwargs: Any) -> list[Any]:
    return [
        flow_created(run_id, **kwargs),
        StateChanged(run_id, "flow", Pending(), 0),
        StateChanged(run_id, "flow", Running(), 1),
        StateChanged(run_id, "flow", Completed(data={"rows": 3}), 1),
    ]


def test_a_new_store_has_no_runs(store: RunStore) -> None:
    assert store.read_flow_runs() == []


def test_a_flow_run_reads_back_with_its_parameters_tags_and_latest_state(store: RunStore) -> None:
    run_id = uuid4()
    write(store, *finished_flow(run_id, parameters={"n": 3, "names": ["a", "b"]}))

    [run] = store.read_flow_runs()
    assert (run.id, run.name, run.flow_name) == (run_id, "brave-otter", "etl")
    assert run.parameters == {"n": 3, "names": ["a", "b"]}
    assert run.tags == ("nightly",)
    assert (run.state_type, run.state_name, run.run_count) == ("COMPLETED", "Completed", 1)
    assert run.duration is not None and run.duration >= 0
    assert run.result == '{"rows": 3}'
    assert [s.name for s in store.read_states(run_id)] == ["Pending", "Running", "Completed"]
    assert store.read_states(run_id)[-1].data == "{\"rows\": 3}"


def test_states_written_in_later_batches_update_the_run(store: RunStore) -> None:
    run_id = uuid4()
    write(store, flow_created(run_id), StateChanged(run_id, "flow", Running(), 1))
    write(store, RunRenamed(run_id, "flow", "etl-monday"))
    write(store, StateChanged(run_id, "flow", Failed(message="boom"), 1))

    run = store.read_flow_run(run_id)
    assert (run.name, run.state_name, run.state_message) == ("etl-monday", "Failed", "boom")
    assert run.start_time is not None and run.end_time is not None


def test_the_first_running_state_is_the_start_time_across_retries(store: RunStore) -> None:
    run_id = uuid4()
    first, second = Running(timestamp=100.0), Running(timestamp=200.0, name="Retrying")
    write(store, flow_created(run_id, created=99.0), StateChanged(run_id, "flow", first, 1))
    write(store, StateChanged(run_id, "flow", second, 2))

    assert store.read_flow_run(run_id).start_time == 100.0


def test_task_runs_are_listed_under_their_flow_run_in_creation_order(store: RunStore) -> None:
    run_id, tasks = uuid4(), [uuid4() for _ in range(3)]
    write(store, *finished_flow(run_id),
          *[task_created(t, run_id, name=f"add-{i}") for i, t in enumerate(tasks)])
    write(store, *[StateChanged(t, "task", Completed(data=i), 1) for i, t in enumerate(tasks)])

    runs = store.read_task_runs(run_id)
    assert [t.id for t in runs] == tasks
    assert [t.state_name for t in runs] == ["Completed"] * 3
    assert [t.result for t in runs] == ["0", "1", "2"]
    assert store.read_task_runs(uuid4()) == []


def test_logs_of_a_flow_and_its_tasks_read_back_in_order_and_can_be_followed(
    store: RunStore,
) -> None:
    run_id, task_id = uuid4(), uuid4()
    write(store, *finished_flow(run_id), task_created(task_id, run_id),
          LogEmitted(run_id, None, "headwater.flow_runs", 20, "first", 1.0),
          LogEmitted(None, task_id, "headwater.task_runs", 30, "second", 2.0))
    lines = store.read_logs(run_id)
    write(store, LogEmitted(run_id, None, "headwater.flow_runs", 20, "third", 3.0))

    assert [line.message for line in lines] == ["first", "second"]
    assert [line.message for line in store.read_logs(run_id, after_id=lines[-1].id)] == ["third"]
    assert len(store.read_logs(run_id, limit=1)) == 1


def test_dependencies_and_events_read_back_for_their_flow_run(store: RunStore) -> None:
    run_id, up, down = uuid4(), uuid4(), uuid4()
    write(store, *finished_flow(run_id), task_created(up, run_id), task_created(down, run_id),
          DependencyAdded(down, up, "x"),
          Event("asset.materialized", {"key": "s3://bucket/a"}, ({"id": "x"},), {"rows": 2},
                run_id, down, 5.0))

    [edge] = store.read_dependencies(run_id)
    assert (edge.task_run_id, edge.upstream_run_id, edge.parameter) == (down, up, "x")
    [event] = store.read_events(run_id)
    assert (event.name, event.resource, event.related, event.payload) == (
        "asset.materialized", {"key": "s3://bucket/a"}, [{"id": "x"}], {"rows": 2}
    )


def test_runs_can_be_filtered_by_flow_state_and_parent_and_limited(store: RunStore) -> None:
    parent, child, other = uuid4(), uuid4(), uuid4()
    write(store, *finished_flow(parent, created=1.0),
          *finished_flow(child, flow="load", parent=parent, created=2.0),
          flow_created(other, created=3.0), StateChanged(other, "flow", Failed(), 1))

    assert [r.id for r in store.read_flow_runs()] == [other, child, parent]
    assert [r.id for r in store.read_flow_runs(FlowRunFilter(flow_name="load"))] == [child]
    assert [r.id for r in store.read_flow_runs(FlowRunFilter(state="failed"))] == [other]
    assert [r.id for r in store.read_flow_runs(FlowRunFilter(parent_flow_run_id=parent))] == [
        child
    ]
    assert len(store.read_flow_runs(FlowRunFilter(limit=2))) == 2


def test_a_run_is_found_by_a_unique_id_prefix_and_an_unknown_id_says_so(store: RunStore) -> None:
    run_id = uuid4()
    write(store, *finished_flow(run_id))

    assert store.read_flow_run(str(run_id)[:13]).id == run_id
    with pytest.raises(RunNotFoundError, match="No flow run has the id 'nope'"):
        store.read_flow_run("nope")


def test_unserializable_parameters_are_stored_as_readable_placeholders(store: RunStore) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque thing>"

    run_id = uuid4()
    write(store, *finished_flow(run_id, parameters={"lock": threading.Lock(), "o": Opaque(),
                                                    "when": {1, 2}}))

    parameters = store.read_flow_run(run_id).parameters
    assert parameters["o"] == "<Opaque thing>"
    assert parameters["when"] == [1, 2]
    assert "lock" in parameters["lock"]


def test_silent_unfinished_runs_and_their_task_runs_are_marked_crashed(store: RunStore) -> None:
    silent, alive, done, task = uuid4(), uuid4(), uuid4(), uuid4()
    running: set[str] = set()
    write(store, flow_created(silent, created=100.0), StateChanged(silent, "flow", Running(), 1),
          task_created(task, silent), StateChanged(task, "task", Running(), 1),
          *finished_flow(done, created=100.0), running=running)
    write(store, flow_created(alive, created=100.0), StateChanged(alive, "flow", Running(), 1))
    builder = BatchBuilder(set())
    store.write_batch(builder.build(heartbeats=(str(alive),), now=time.time()))

    crashed = store.mark_crashed(heartbeat_before=time.time() - 60, now=time.time())

    assert crashed == [silent]
    assert store.read_flow_run(silent).state_type == "CRASHED"
    assert store.read_task_runs(silent)[0].state_type == "CRASHED"
    assert store.read_states(silent)[-1].name == "Crashed"
    assert store.read_flow_run(alive).state_type == "RUNNING"
    assert store.read_flow_run(done).state_type == "COMPLETED"
    assert store.mark_crashed(heartbeat_before=time.time() - 60, now=time.time()) == []


def test_prune_deletes_old_runs_with_everything_that_belongs_to_them(store: RunStore) -> None:
    old, new, old_task, new_task = uuid4(), uuid4(), uuid4(), uuid4()
    for run_id, task_id, created in ((old, old_task, 1_000.0), (new, new_task, 9_000.0)):
        write(store, *finished_flow(run_id, created=created), task_created(task_id, run_id),
              StateChanged(task_id, "task", Completed(), 1),
              LogEmitted(run_id, task_id, "l", 20, "hi", created),
              DependencyAdded(task_id, run_id), Event("e", {}, (), {}, run_id, task_id, created))

    result = store.prune(created_before=5_000.0)

    assert (result.flow_runs, result.task_runs) == (1, 1)
    assert [r.id for r in store.read_flow_runs()] == [new]
    for gone in (old, old_task):
        assert store.read_states(gone) == []
    assert store.read_logs(old) == [] and store.read_events(old) == []
    assert len(store.read_logs(new)) == 1 and len(store.read_dependencies(new)) == 1


def test_reset_deletes_every_run(store: RunStore) -> None:
    write(store, *finished_flow(uuid4()))

    store.reset()

    assert store.read_flow_runs() == []
