"""The event seam: `EventSink`, the current sink, `MemorySink` and the records themselves."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

import headwater.events
from headwater import flow, get_run_logger, task
from headwater.engine.runtime import current_sink, set_sink, use_sink
from headwater.events import EventSink, NullSink
from headwater.events.memory import MemorySink
from headwater.events.records import (
    FlowRunCreated,
    LogEmitted,
    Record,
    StateChanged,
    TaskRunCreated,
)


class ListSink(EventSink):
    """A minimal third-party sink: what a user writing their own would do."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.flushes = 0
        self.closed = False

    def emit(self, record: Record) -> None:
        self.records.append(record)

    def flush(self, timeout: float | None = None) -> None:
        self.flushes += 1

    def close(self) -> None:
        self.closed = True
        super().close()


def describe(record: Record) -> tuple[Any, ...]:
    """A short, comparable view of one record."""
    if isinstance(record, FlowRunCreated):
        return ("FlowRunCreated", record.flow_name)
    if isinstance(record, TaskRunCreated):
        return ("TaskRunCreated", record.task_name)
    if isinstance(record, StateChanged):
        return ("StateChanged", record.kind, record.state.name)
    if isinstance(record, LogEmitted):
        return ("LogEmitted", record.message)
    return (type(record).__name__,)


def is_subsequence(expected: list[Any], actual: list[Any]) -> bool:
    remaining = iter(actual)
    return all(item in remaining for item in expected)


# -- a custom sink through the seam -----------------------------------------------------------


def test_a_custom_sink_receives_a_flow_runs_records_in_order() -> None:
    # Given a user's own sink made current with use_sink
    @task
    def step() -> int:
        get_run_logger().info("inside the task")
        return 1

    @flow
    def pipeline() -> int:
        return step()

    sink = ListSink()

    # When a flow calling a task runs inside the block
    with use_sink(sink):
        assert pipeline() == 1

    # Then the sink saw the run's whole story, in order
    seen = [describe(r) for r in sink.records]
    expected = [
        ("FlowRunCreated", "pipeline"),
        ("StateChanged", "flow", "Pending"),
        ("StateChanged", "flow", "Running"),
        ("TaskRunCreated", "step"),
        ("StateChanged", "task", "Pending"),
        ("StateChanged", "task", "Running"),
        ("LogEmitted", "inside the task"),
        ("StateChanged", "task", "Completed"),
        ("LogEmitted", "Finished in state Completed()"),
        ("StateChanged", "flow", "Completed"),
        ("LogEmitted", "Finished in state Completed()"),
    ]
    assert is_subsequence(expected, seen), seen
    assert seen[0] == ("FlowRunCreated", "pipeline")
    assert {type(r) for r in sink.records} == {
        FlowRunCreated,
        TaskRunCreated,
        StateChanged,
        LogEmitted,
    }


def test_a_custom_sinks_records_link_task_runs_and_logs_to_their_flow_run() -> None:
    @task
    def step() -> None:
        get_run_logger().info("hello")

    @flow
    def pipeline() -> None:
        step()

    sink = ListSink()
    with use_sink(sink):
        pipeline()

    [flow_created] = [r for r in sink.records if isinstance(r, FlowRunCreated)]
    [task_created] = [r for r in sink.records if isinstance(r, TaskRunCreated)]
    [hello] = [r for r in sink.records if isinstance(r, LogEmitted) and r.message == "hello"]
    assert task_created.flow_run_id == flow_created.flow_run_id
    assert hello.task_run_id == task_created.task_run_id
    assert hello.flow_run_id == flow_created.flow_run_id
    assert hello.logger == "headwater.task_runs"
    assert hello.level == logging.INFO
    run_ids = {r.run_id for r in sink.records if isinstance(r, StateChanged)}
    assert run_ids == {flow_created.flow_run_id, task_created.task_run_id}


def test_a_top_level_flow_run_flushes_the_sink_when_it_ends() -> None:
    flushes_during_run: list[int] = []
    sink = ListSink()

    @flow
    def pipeline() -> None:
        flushes_during_run.append(sink.flushes)

    with use_sink(sink):
        pipeline()
        flushes_after_run = sink.flushes

    assert flushes_during_run == [0]
    assert flushes_after_run == 1


def test_use_sink_restores_the_previous_sink_even_when_the_block_raises() -> None:
    before = current_sink()
    sink = ListSink()

    with pytest.raises(KeyError), use_sink(sink) as active:
        assert active is sink
        assert current_sink() is sink
        raise KeyError("boom")

    assert current_sink() is before
    assert sink.flushes == 1


def test_set_sink_swaps_the_process_wide_sink_and_returns_the_previous_one() -> None:
    before = current_sink()
    sink = ListSink()
    try:
        previous = set_sink(sink)
        assert previous is before
        assert current_sink() is sink
    finally:
        set_sink(before)
    assert current_sink() is before


@pytest.mark.parametrize("not_a_sink", [None, [], MemorySink, "memory", object()])
def test_set_sink_with_something_that_is_not_a_sink_raises_type_error(not_a_sink: Any) -> None:
    before = current_sink()

    with pytest.raises(TypeError, match="set_sink\\(\\) needs an EventSink"):
        set_sink(not_a_sink)

    assert current_sink() is before


def test_use_sink_with_something_that_is_not_a_sink_raises_type_error() -> None:
    with pytest.raises(TypeError, match="EventSink"), use_sink([]):  # type: ignore[arg-type]
        pass


def test_the_event_sink_base_class_makes_subclasses_implement_emit() -> None:
    class Incomplete(EventSink):
        pass

    with pytest.raises(NotImplementedError):
        Incomplete().emit(LogEmitted(None, None, "x", logging.INFO, "m", 0.0))


def test_closing_a_sink_flushes_it() -> None:
    sink = ListSink()

    sink.close()

    assert sink.closed
    assert sink.flushes == 1


def test_the_null_sink_drops_records_and_runs_still_complete() -> None:
    @flow
    def pipeline() -> str:
        return "done"

    with use_sink(NullSink()):
        assert pipeline() == "done"


def test_the_events_package_exports_the_seam_and_the_runtime_holds_the_current_sink() -> None:
    import headwater.engine.runtime as runtime

    assert set(headwater.events.__all__) >= {"EventSink", "NullSink", "open_default_sink"}
    sink = NullSink()
    with use_sink(sink):
        assert runtime.current_runtime().sink is sink is current_sink()


# -- MemorySink readers -----------------------------------------------------------------------


def test_memory_sink_readers_answer_questions_about_runs(events: MemorySink) -> None:
    @task
    def child_task(x: int) -> int:
        get_run_logger().info("child says %d", x)
        return x

    @flow
    def child_flow() -> None:
        pass

    @flow
    def parent() -> None:
        child_task(1)
        child_flow()

    parent()

    parent_run, child_run = events.flow_runs()
    [task_created] = events.task_runs()
    assert [r.flow_name for r in events.flow_runs()] == ["parent", "child-flow"]
    assert events.child_flow_runs(parent_run.flow_run_id) == [child_run]
    assert events.task_runs_of(parent_run.flow_run_id) == [task_created]
    assert events.task_runs_of(child_run.flow_run_id) == []
    assert events.state_names(task_created.task_run_id) == ["Pending", "Running", "Completed"]
    assert [s.type.value for s in events.states(parent_run.flow_run_id)] == [
        "PENDING",
        "RUNNING",
        "COMPLETED",
    ]
    final = events.final_state(parent_run.flow_run_id)
    assert final is not None and final.is_completed()
    assert events.final_state(task_created.task_run_id) is not None
    assert events.run_name(parent_run.flow_run_id) == parent_run.name
    assert events.run_name(task_created.task_run_id) == task_created.name
    assert "child says 1" in events.messages(task_created.task_run_id)
    assert "child says 1" in events.messages(parent_run.flow_run_id)  # a task's logs are its flow's
    assert "child says 1" not in events.messages(child_run.flow_run_id)
    assert all(isinstance(r, LogEmitted) for r in events.logs())
    assert events.dependencies() == []
    assert events.of_type(FlowRunCreated) == events.flow_runs()
    assert len(events) == len(list(events))
    assert events.summary()[0] == ("FlowRunCreated", parent_run.name)


def test_memory_sink_run_name_follows_a_templated_name(events: MemorySink) -> None:
    @task(task_run_name="load-{path}")
    def load(path: str) -> None:
        pass

    @flow(flow_run_name="run-{day}")
    def pipeline(day: str) -> None:
        load("a.csv")

    pipeline("mon")

    [flow_created] = events.flow_runs()
    [task_created] = events.task_runs()
    assert events.run_name(flow_created.flow_run_id) == "run-mon"
    assert events.run_name(task_created.task_run_id) == "load-a.csv"


def test_memory_sink_final_state_of_an_unknown_run_is_none(events: MemorySink) -> None:
    import uuid

    assert events.final_state(uuid.uuid4()) is None
    assert events.run_name(uuid.uuid4()) is None
    assert events.state_names(uuid.uuid4()) == []


def test_memory_sink_clear_forgets_every_record(events: MemorySink) -> None:
    @flow
    def pipeline() -> None:
        pass

    pipeline()
    assert len(events) > 0

    events.clear()

    assert len(events) == 0
    assert events.flow_runs() == []
    pipeline()
    assert len(events.flow_runs()) == 1  # still records after clearing


def test_iterating_a_memory_sink_gives_a_snapshot(events: MemorySink) -> None:
    @flow
    def pipeline() -> None:
        pass

    pipeline()
    snapshot = iter(events)
    pipeline()  # records emitted after iter() do not disturb the iteration

    assert len(list(snapshot)) < len(events)


# -- concurrency ------------------------------------------------------------------------------


def test_emitting_from_eight_threads_at_once_loses_no_record(events: MemorySink) -> None:
    # Given a trivial task and 8 threads that start together
    @task
    def work(i: int) -> int:
        return i

    threads_count, calls = 8, 200
    barrier = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            barrier.wait()
            for i in range(calls):
                work(i)
        except BaseException as exc:
            errors.append(exc)

    # When each thread runs the task outside any flow 200 times
    threads = [threading.Thread(target=hammer) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every run was recorded, with its full state history
    assert errors == []
    created = events.task_runs()
    assert len(created) == threads_count * calls == 1600
    assert len({r.task_run_id for r in created}) == 1600
    completed = [
        r for r in events.of_type(StateChanged) if r.kind == "task" and r.state.name == "Completed"
    ]
    assert len(completed) == 1600
    assert len(events.of_type(StateChanged)) == 3 * 1600


# -- records ----------------------------------------------------------------------------------


def test_records_are_frozen_dataclasses(events: MemorySink) -> None:
    @task
    def step() -> None:
        get_run_logger().info("hi")

    @flow
    def pipeline() -> None:
        step()

    pipeline()

    kinds = {type(r) for r in events}
    assert kinds == {FlowRunCreated, TaskRunCreated, StateChanged, LogEmitted}
    for record in events:
        first_field = record._fields[0]
        with pytest.raises(AttributeError):
            setattr(record, first_field, None)


def test_records_cannot_grow_new_attributes(events: MemorySink) -> None:
    @flow
    def pipeline() -> None:
        pass

    pipeline()

    record = events.flow_runs()[0]
    with pytest.raises((AttributeError, TypeError)):
        record.extra = "nope"  # type: ignore[attr-defined]
