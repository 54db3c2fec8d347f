"""The `RunStore` contract, continued: pages with cursors, counts by state and aggregates (what
the server's pages read), the same from every store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest

from headwater.core.states import Completed, Failed, Running
from headwater.errors import RunNotFoundError
from headwater.events.records import (
    DependencyAdded,
    FlowRunCreated,
    LogEmitted,
    StateChanged,
    TaskRunCreated,
)
from headwater.store import FlowRunFilter, RunStore
from headwater.store.pages import LogFilter, TaskRunFilter, check_state_types
from tests.contracts.test_run_store_contract import (
    IMPLEMENTATIONS,
    finished_flow,
    flow_created,
    write,
)


@pytest.fixture(params=IMPLEMENTATIONS, ids=lambda f: f.__name__.strip("_"))
def store(request: pytest.FixtureRequest) -> Iterator[RunStore]:
    made = request.param(request)
    yield made
    made.close()


def task(task_id: UUID, flow_run_id: UUID, key: str = "mod.add", *, created: float = 1.0,
         tags: frozenset[str] = frozenset()) -> TaskRunCreated:
    return TaskRunCreated(task_id, f"{key}-{str(task_id)[:4]}", key.split(".")[-1], key,
                          flow_run_id, {}, tags, created)


def ran(task_id: UUID, start: float, end: float | None, *, failed: bool = False) -> list[object]:
    states: list[object] = [StateChanged(task_id, "task", Running(timestamp=start), 1)]
    if end is not None:
        final = Failed(timestamp=end) if failed else Completed(timestamp=end)
        states.append(StateChanged(task_id, "task", final, 1))
    return states


def test_flow_runs_page_with_a_cursor_without_gaps_or_repeats(store: RunStore) -> None:
    ids = [uuid4() for _ in range(7)]
    # Two runs share a creation time: the id breaks the tie.
    write(store, *[r for i, run_id in enumerate(ids)
                   for r in finished_flow(run_id, created=100.0 + min(i, 5))])

    seen: list[UUID] = []
    after = None
    while True:
        page = store.read_flow_runs(FlowRunFilter(limit=3, after=after))
        if not page:
            break
        seen += [run.id for run in page]
        after = (page[-1].created, str(page[-1].id))

    assert seen == [run.id for run in store.read_flow_runs(FlowRunFilter(limit=None))]
    assert sorted(seen) == sorted(ids)


def test_flow_runs_filter_by_state_types_tags_time_and_roots(store: RunStore) -> None:
    root, child, failed, tagged = uuid4(), uuid4(), uuid4(), uuid4()
    write(store, *finished_flow(root, created=10.0),
          *finished_flow(child, created=11.0, parent=root),
          flow_created(failed, created=20.0), StateChanged(failed, "flow", Failed(), 1),
          FlowRunCreated(tagged, "t", "etl", None, {}, frozenset({"a_b", "x%"}), None, None,
                         30.0))

    def ids(**kwargs: object) -> list[UUID]:
        return [r.id for r in store.read_flow_runs(FlowRunFilter(limit=None, **kwargs))]  # type: ignore[arg-type]

    assert ids(roots_only=True) == [tagged, failed, root]
    assert ids(state_types=("FAILED",)) == [failed]
    assert ids(state_types=("FAILED", "COMPLETED")) == [failed, child, root]
    assert ids(tags=("a_b",)) == [tagged]
    assert ids(tags=("a_b", "x%")) == [tagged]
    assert ids(tags=("ab",)) == [] and ids(tags=("x",)) == []
    assert ids(created_after=11.0, created_before=30.0) == [failed, child]


def test_flow_runs_are_counted_by_state_and_by_interval(store: RunStore) -> None:
    a, b, c, d = uuid4(), uuid4(), uuid4(), uuid4()
    write(store, *finished_flow(a, created=0.0), *finished_flow(b, created=5.0),
          flow_created(c, created=6.0), StateChanged(c, "flow", Failed(), 1),
          flow_created(d, created=25.0, flow="other"))

    assert store.count_flow_runs() == {"COMPLETED": 2, "FAILED": 1, "PENDING": 1}
    assert store.count_flow_runs(FlowRunFilter(flow_name="etl", created_after=5.0)) == {
        "COMPLETED": 1, "FAILED": 1}
    assert store.flow_run_histogram(None, start=0.0, end=30.0, buckets=3) == [
        {"COMPLETED": 2, "FAILED": 1}, {}, {"PENDING": 1}]
    assert store.flow_run_histogram(
        FlowRunFilter(state_types=("FAILED",)), start=0.0, end=10.0, buckets=2) == [{}, {
            "FAILED": 1}]


def test_subflows_are_counted_per_parent_and_flows_listed_by_name(store: RunStore) -> None:
    parent, lonely = uuid4(), uuid4()
    write(store, *finished_flow(parent, created=1.0), *finished_flow(lonely, created=2.0),
          *finished_flow(uuid4(), flow="load", parent=parent, created=3.0),
          *finished_flow(uuid4(), flow="load", parent=parent, created=4.0))

    assert store.count_subflows([parent, lonely]) == {parent: 2}
    assert store.count_subflows([]) == {}
    assert [(f.name, f.runs, f.last_created) for f in store.read_flows()] == [
        ("etl", 2, 2.0), ("load", 2, 4.0)]


def test_a_task_run_is_read_by_id_or_unique_prefix(store: RunStore) -> None:
    run_id, task_id = uuid4(), uuid4()
    write(store, *finished_flow(run_id), task(task_id, run_id))

    assert store.read_task_run(task_id).id == task_id
    assert [t.id for t in store.read_task_runs_by_id([task_id, uuid4()])] == [task_id]
    assert store.read_task_run(str(task_id)[:12]).flow_run_id == run_id
    with pytest.raises(RunNotFoundError, match="No task run has the id 'nope'"):
        store.read_task_run("nope")


def test_task_runs_page_by_creation_and_by_start_within_a_time_window(store: RunStore) -> None:
    run_id = uuid4()
    t = [uuid4() for _ in range(5)]
    write(store, *finished_flow(run_id),
          *[task(tid, run_id, "m.a" if i % 2 else "m.b", created=float(i))
            for i, tid in enumerate(t)],
          *ran(t[0], 10.0, 20.0), *ran(t[1], 5.0, 8.0), *ran(t[2], 30.0, None),
          *ran(t[3], 15.0, 16.0, failed=True))  # t[4] never starts

    def page(**kwargs: object) -> list[UUID]:
        return [r.id for r in store.read_task_run_page(run_id, TaskRunFilter(**kwargs))]  # type: ignore[arg-type]

    assert page() == t
    assert page(limit=2, after=(1.0, str(t[1]))) == [t[2], t[3]]
    assert page(order="start_time") == [t[1], t[0], t[3], t[2]]
    assert page(order="start_time", after=(10.0, str(t[0])), limit=1) == [t[3]]
    assert page(order="start_time", window=(9.0, 17.0)) == [t[0], t[3]]
    assert page(order="start_time", window=(25.0, 40.0)) == [t[2]]  # still running
    assert page(state_types=("FAILED",)) == [t[3]]
    assert page(state_types=("PENDING",)) == [t[4]]
    assert page(task_key="m.a") == [t[1], t[3]]
    assert store.count_task_runs(run_id) == {"COMPLETED": 2, "RUNNING": 1, "FAILED": 1,
                                             "PENDING": 1}
    assert store.count_task_runs(run_id, TaskRunFilter(window=(9.0, 17.0))) == {
        "COMPLETED": 1, "FAILED": 1}
    with pytest.raises(ValueError, match="order='name' is not a task run order"):
        store.read_task_run_page(run_id, TaskRunFilter(order="name"))


def test_task_runs_are_added_up_per_task(store: RunStore) -> None:
    run_id = uuid4()
    a1, a2, b1 = uuid4(), uuid4(), uuid4()
    write(store, *finished_flow(run_id), task(a1, run_id, "m.a"), task(a2, run_id, "m.a"),
          task(b1, run_id, "m.b"), *ran(a1, 10.0, 12.0), *ran(a2, 11.0, 16.0, failed=True),
          *ran(b1, 5.0, None))

    b, a = store.task_run_summary(run_id)

    assert (a.task_key, a.task_name, a.total, a.states) == ("m.a", "a", 2, {
        "COMPLETED": 1, "FAILED": 1})
    assert (a.first_start, a.last_end, a.total_duration, a.max_duration) == (
        10.0, 16.0, 7.0, 5.0)
    assert (b.task_key, b.total, b.states, b.first_start, b.last_end, b.max_duration) == (
        "m.b", 1, {"RUNNING": 1}, 5.0, None, None)
    assert store.task_run_summary(uuid4()) == []


def test_dependencies_are_added_up_per_upstream_and_downstream_task(store: RunStore) -> None:
    run_id, sub = uuid4(), uuid4()
    a = [uuid4() for _ in range(3)]
    b = uuid4()
    write(store, *finished_flow(run_id), *finished_flow(sub, flow="child", parent=run_id),
          *[task(x, run_id, "m.a") for x in a], task(b, run_id, "m.b"),
          *[DependencyAdded(b, x, "xs") for x in a], DependencyAdded(b, sub, "y"),
          DependencyAdded(a[1], a[0], None))

    groups = [(g.upstream_kind, g.upstream_key, g.downstream_key, g.count)
              for g in store.dependency_summary(run_id)]

    assert groups == [("flow", "child", "m.b", 1), ("task", "m.a", "m.a", 1),
                      ("task", "m.a", "m.b", 3)]


def test_dependencies_on_runs_outside_the_flow_run_are_added_up_by_what_they_are(
    store: RunStore,
) -> None:
    run_id, other_run, sub = uuid4(), uuid4(), uuid4()
    a, b, elsewhere, missing = uuid4(), uuid4(), uuid4(), uuid4()
    write(store, *finished_flow(run_id), *finished_flow(other_run),
          *finished_flow(sub, flow="child", parent=run_id),
          task(a, run_id, "m.a"), task(b, run_id, "m.b"), task(elsewhere, other_run, "m.x"),
          DependencyAdded(b, a, "x"), DependencyAdded(b, elsewhere, "y"),
          DependencyAdded(a, elsewhere, "y"), DependencyAdded(b, sub, "z"),
          DependencyAdded(a, sub, "z"), DependencyAdded(b, missing, "w"))

    groups = [(g.upstream_kind, g.upstream_key, g.downstream_key, g.count)
              for g in store.dependency_summary(run_id)]

    assert sorted(groups) == sorted([
        ("task", "m.a", "m.b", 1), ("task", "m.x", "m.a", 1), ("task", "m.x", "m.b", 1),
        ("flow", "child", "m.a", 1), ("flow", "child", "m.b", 1),
        ("run", str(missing), "m.b", 1)])
    assert [(g.upstream_key, g.downstream_key) for g in store.dependency_summary(run_id)] == \
        sorted((g[1], g[2]) for g in groups)


def test_the_sums_of_a_final_flow_run_follow_what_is_stored_after_it_finished(
    store: RunStore,
) -> None:
    run_id, a1, a2, late = uuid4(), uuid4(), uuid4(), uuid4()
    write(store, *finished_flow(run_id), task(a1, run_id, "m.a"), task(a2, run_id, "m.b"),
          *ran(a1, 10.0, 12.0), *ran(a2, 11.0, 13.0), DependencyAdded(a2, a1, "x"))

    def sums() -> list[tuple[str, int, dict[str, int]]]:
        return [(g.task_key, g.total, g.states) for g in store.task_run_summary(run_id)]

    def links() -> list[tuple[str, str, int]]:
        return [(g.upstream_key, g.downstream_key, g.count)
                for g in store.dependency_summary(run_id)]

    # Read twice: the second answer (kept by a SQL store) is the first one
    assert sums() == sums() == [("m.a", 1, {"COMPLETED": 1}), ("m.b", 1, {"COMPLETED": 1})]
    assert links() == links() == [("m.a", "m.b", 1)]

    # A task run stored after its flow run finished is counted, and what it used is linked
    write(store, task(late, run_id, "m.b"), *ran(late, 14.0, 15.0),
          DependencyAdded(late, a1, "x"))
    assert sums() == [("m.a", 1, {"COMPLETED": 1}), ("m.b", 2, {"COMPLETED": 2})]
    assert links() == [("m.a", "m.b", 2)]

    # A task run's later state counts
    write(store, StateChanged(a1, "task", Failed(timestamp=time.time() + 5), 2))
    assert sums()[0] == ("m.a", 1, {"FAILED": 1})

    # A resumed run is read afresh while it runs, and once it finishes again
    write(store, StateChanged(run_id, "flow", Running(), 2), task(a3 := uuid4(), run_id, "m.c"))
    assert [g[0] for g in sums()] == ["m.a", "m.b", "m.c"]
    write(store, *ran(a3, 20.0, 21.0), StateChanged(run_id, "flow", Completed(), 2))
    assert sums()[2] == ("m.c", 1, {"COMPLETED": 1})


def test_log_pages_filter_by_level_and_task_run_and_read_newest_first(store: RunStore) -> None:
    run_id, task_id = uuid4(), uuid4()
    write(store, *finished_flow(run_id), task(task_id, run_id),
          *[LogEmitted(run_id, task_id if i % 2 else None, "l", 40 if i == 3 else 20,
                       f"line {i}", float(i)) for i in range(6)])

    def messages(**kwargs: object) -> list[str]:
        return [line.message for line in store.read_log_page(run_id, LogFilter(**kwargs))]  # type: ignore[arg-type]

    assert messages() == [f"line {i}" for i in range(6)]
    assert messages(newest_first=True, limit=2) == ["line 5", "line 4"]
    newest = store.read_log_page(run_id, LogFilter(newest_first=True, limit=2))
    assert messages(newest_first=True, limit=2, before_id=newest[-1].id) == ["line 3", "line 2"]
    assert messages(min_level=30) == ["line 3"]
    assert messages(task_run_id=str(task_id)) == ["line 1", "line 3", "line 5"]
    assert messages(after_id=newest[-1].id) == ["line 5"]


def test_the_change_token_changes_when_a_run_or_its_task_runs_or_logs_change(
    store: RunStore,
) -> None:
    run_id, other, task_id = uuid4(), uuid4(), uuid4()
    write(store, flow_created(run_id), StateChanged(run_id, "flow", Running(), 1))
    tokens = [store.read_change_token(run_id), store.read_change_token()]

    write(store, task(task_id, run_id, created=time.time()))
    tokens.append(store.read_change_token(run_id))
    write(store, *ran(task_id, time.time(), time.time() + 1))
    tokens.append(store.read_change_token(run_id))
    write(store, LogEmitted(run_id, task_id, "l", 20, "hi", time.time()))
    tokens.append(store.read_change_token(run_id))
    write(store, *finished_flow(other))

    assert len(set(tokens[:1] + tokens[2:])) == 4
    assert store.read_change_token() != tokens[1]
    assert store.read_change_token(run_id) == tokens[-1]  # nothing new about this run


def test_state_types_are_checked_with_a_message_listing_them() -> None:
    assert check_state_types(("failed", " Completed ")) == ("FAILED", "COMPLETED")
    with pytest.raises(ValueError, match=r"'done' is not a state type\. Use one of: scheduled"):
        check_state_types(("done",))
