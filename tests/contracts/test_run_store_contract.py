"""The `RunStore` contract: every store behaves the same. A new store is one more line in
IMPLEMENTATIONS (memory, SQLite under tmp_path, PostgreSQL in a schema of its own)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest

from headwater.core.states import Cancelled, Completed, Failed, Pending, Running
from headwater.errors import RunFinishedError, RunNotFoundError
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
    write(store, *materialized("s3://b/a", ["s3://b/up"], flow_run_id=uuid4()))

    store.reset()

    assert store.read_flow_runs() == []
    assert store.read_assets() == []
    assert store.asset_lineage("s3://b/a").upstream == ()


# -- assets ---------------------------------------------------------------------------------------
SUCCEEDED = "headwater.asset.materialization.succeeded"
FAILED = "headwater.asset.materialization.failed"
REFERENCED = "headwater.asset.referenced"


def materialized(
    key: str, upstream: Sequence[str] = (), *, failed: bool = False, at: float = 10.0,
    flow_run_id: UUID | None = None, task_run_id: UUID | None = None, by: str | None = None,
    metadata: dict[str, Any] | None = None, properties: dict[str, Any] | None = None,
) -> list[Event]:
    """The events the engine emits when one task run materializes `key` from `upstream`."""
    related: list[dict[str, Any]] = [
        {"headwater.resource.id": up, "headwater.resource.role": "asset"} for up in upstream
    ]
    if by is not None:
        related.append({"headwater.resource.id": by,
                        "headwater.resource.role": "asset-materialized-by"})
    resource = {"headwater.resource.id": key,
                **{f"headwater.asset.{k}": v for k, v in (properties or {}).items()}}
    referenced = [
        Event(REFERENCED, {"headwater.resource.id": up}, (), {}, flow_run_id, task_run_id, at)
        for up in upstream
    ]
    return [*referenced, Event(FAILED if failed else SUCCEEDED, resource, tuple(related),
                               metadata or {}, flow_run_id, task_run_id, at)]


def test_assets_are_listed_by_key_with_their_latest_materialization_and_count(
    store: RunStore,
) -> None:
    write(store, *materialized("file://raw.csv", at=10.0, properties={"name": "Raw"}))
    write(store, *materialized("file://report.csv", ["file://raw.csv", "pg://db/cities"], at=20.0))
    write(store, *materialized("file://report.csv", ["file://raw.csv"], failed=True, at=30.0))

    assets = {a.key: a for a in store.read_assets()}

    assert list(assets) == ["file://raw.csv", "file://report.csv", "pg://db/cities"]
    raw, report, cities = assets.values()
    assert (raw.latest_status, raw.latest_time, raw.materializations) == ("succeeded", 10.0, 1)
    assert raw.properties == {"name": "Raw"} and raw.last_seen == 30.0
    assert (report.latest_status, report.latest_time, report.materializations) == (
        "failed", 30.0, 2)
    assert (cities.latest_status, cities.latest_time, cities.materializations) == (None, None, 0)
    assert cities.properties == {}
    assert [a.key for a in store.read_assets(["pg://db/cities", "nope://x"])] == [
        "pg://db/cities"]


def test_materializations_of_an_asset_read_back_newest_first_with_their_runs(
    store: RunStore,
) -> None:
    run_id, task_id = uuid4(), uuid4()
    write(store, *finished_flow(run_id), task_created(task_id, run_id),
          *materialized("s3://b/out", ["s3://b/in", "s3://b/dim"], at=5.0, flow_run_id=run_id,
                        task_run_id=task_id, by="dbt", metadata={"rows": 3}))
    write(store, *materialized("s3://b/out", ["s3://b/in"], failed=True, at=6.0))

    failed, succeeded = store.read_asset_materializations("s3://b/out")

    assert (failed.status, failed.timestamp, failed.upstream) == ("failed", 6.0, ("s3://b/in",))
    assert succeeded.status == "succeeded" and succeeded.key == "s3://b/out"
    assert succeeded.upstream == ("s3://b/dim", "s3://b/in")
    assert (succeeded.metadata, succeeded.materialized_by) == ({"rows": 3}, "dbt")
    assert (succeeded.flow_run_id, succeeded.task_run_id) == (run_id, task_id)
    assert len(store.read_asset_materializations("s3://b/out", limit=1)) == 1
    assert store.read_asset_materializations("s3://b/in") == []  # only ever referenced
    assert store.read_asset_materializations("s3://b/unknown") == []


def test_lineage_follows_succeeded_materializations_both_ways_to_the_asked_depth(
    store: RunStore,
) -> None:
    # Given raw -> clean -> report, dim -> report, and a failed run that tried clean <- junk
    write(store, *materialized("f://clean", ["f://raw"], at=1.0),
          *materialized("f://report", ["f://clean", "f://dim"], at=2.0),
          *materialized("f://clean", ["f://junk"], failed=True, at=3.0))

    direct = store.asset_lineage("f://clean")
    whole = store.asset_lineage("f://report", depth=None)

    assert (direct.key, direct.depth) == ("f://clean", 1)
    assert (direct.upstream, direct.downstream) == (("f://raw",), ("f://report",))
    assert direct.edges == (("f://clean", "f://report"), ("f://raw", "f://clean"))
    assert whole.upstream == ("f://clean", "f://dim", "f://raw") and whole.downstream == ()
    assert store.asset_lineage("f://raw", depth=2).downstream == ("f://clean", "f://report")
    assert store.asset_lineage("f://raw", depth=1).downstream == ("f://clean",)
    assert store.asset_lineage("f://unknown").edges == ()
    with pytest.raises(ValueError, match="depth=0 follows no links"):
        store.asset_lineage("f://raw", depth=0)


def test_lineage_with_a_cycle_ends(store: RunStore) -> None:
    write(store, *materialized("f://a", ["f://b"]), *materialized("f://b", ["f://a"]))

    lineage = store.asset_lineage("f://a", depth=None)

    assert lineage.upstream == ("f://b",) and lineage.downstream == ("f://b",)


def test_asset_history_is_pruned_with_the_runs_it_belongs_to(store: RunStore) -> None:
    old, new = uuid4(), uuid4()
    write(store, *finished_flow(old, created=1_000.0),
          *materialized("f://a", ["f://up"], flow_run_id=old, at=1_000.0))
    write(store, *finished_flow(new, created=9_000.0),
          *materialized("f://b", ["f://up"], flow_run_id=new, at=9_000.0))

    store.prune(created_before=5_000.0)

    assert [a.key for a in store.read_assets()] == ["f://b", "f://up"]
    assert store.asset_lineage("f://up").downstream == ("f://b",)


# -- run control ----------------------------------------------------------------------------------
def test_a_cancel_request_is_stored_once_and_read_back_for_the_runs_asked_about(
    store: RunStore,
) -> None:
    running, other = uuid4(), uuid4()
    for run_id in (running, other):
        write(store, flow_created(run_id), StateChanged(run_id, "flow", Pending(), 0),
              StateChanged(run_id, "flow", Running(), 1))

    assert store.read_cancel_requests([str(running), str(other)]) == []
    view = store.request_cancel(str(running)[:12], requested_by="cli")
    store.request_cancel(running)  # asking twice is harmless

    assert view.id == running and view.state_name == "Running"
    assert store.read_cancel_requests([str(running), str(other)]) == [str(running)]
    assert store.read_cancel_requests([]) == []


def test_cancelling_a_finished_or_unknown_run_says_why(store: RunStore) -> None:
    done = uuid4()
    write(store, *finished_flow(done))

    with pytest.raises(RunFinishedError, match="already finished in state 'Completed'") as info:
        store.request_cancel(done)
    assert info.value.state == "Completed" and info.value.run_id == str(done)
    with pytest.raises(RunNotFoundError, match="No flow run has the id"):
        store.request_cancel(uuid4())
    assert store.read_cancel_requests([str(done)]) == []


def test_prune_deletes_the_cancel_requests_of_the_runs_it_deletes(store: RunStore) -> None:
    old = uuid4()
    write(store, flow_created(old, created=time.time() - 3600),
          StateChanged(old, "flow", Running(), 1))
    store.request_cancel(old)
    write(store, StateChanged(old, "flow", Cancelled(), 1))
    store.prune(created_before=time.time() - 60)

    assert store.read_cancel_requests([str(old)]) == []
