"""The batch builder's rows, column by column: task runs, states and log lines come as values
in their tables' column order, and read back as the dicts every other reader of a batch gets."""

from __future__ import annotations

import contextlib
from uuid import UUID, uuid4

from headwater.core.states import Completed, Pending, Running
from headwater.events import codec
from headwater.events._rows import BatchBuilder
from headwater.events.records import (
    FlowRunCreated,
    LogEmitted,
    RunRenamed,
    StateChanged,
    TaskRunCreated,
)
from headwater.store.batch import Batch
from headwater.store.tables import LOGS, STATES, TASK_RUNS

FLOW, TASK = UUID(int=1), UUID(int=2)
FLOW_ID, TASK_ID = str(FLOW), str(TASK)


def _built(records: list[object], running: set[str] | None = None) -> Batch:
    builder = BatchBuilder(set() if running is None else running)
    builder.add_all(records)
    return builder.build(now=5.0)


def _state(run_id: str, kind: str, type: str, name: str, ts: float, run_count: int,
           data: str | None = None, seq: int = 0) -> dict[str, object]:
    return {"run_id": run_id, "kind": kind, "type": type, "name": name, "message": None,
            "timestamp": ts, "run_count": run_count, "data": data, "seq": seq}


def test_a_task_run_created_in_the_batch_carries_its_latest_state_and_its_first_start() -> None:
    # Given a task run, its states (Running twice: a retry), and a new name, in one batch
    batch = _built([
        TaskRunCreated(TASK, "t-0", "t", "t-key", FLOW, {"x": 1}, frozenset({"a"}), 1.0, 3),
        StateChanged(TASK, "task", Pending(timestamp=1.0), 0),
        StateChanged(TASK, "task", Running(timestamp=1.1), 1),
        StateChanged(TASK, "task", Running(timestamp=1.2), 2),
        RunRenamed(TASK, "task", "t-renamed"),
        StateChanged(TASK, "task", Completed(timestamp=1.3, data=7), 2),
    ])

    # Then its one row holds the latest state, the first start, the result and the new name
    assert batch.task_runs == [{
        "id": TASK_ID, "name": "t-renamed", "parameters": '{"x": 1}', "tags": '["a"]',
        "created": 1.0, "state_type": "COMPLETED", "state_name": "Completed",
        "state_message": None, "state_timestamp": 1.3, "start_time": 1.1, "end_time": 1.3,
        "run_count": 2, "result": "7", "task_name": "t", "task_key": "t-key",
        "flow_run_id": FLOW_ID, "identity": "t-key#3",
    }]
    # And every state is a row of its own, in order
    assert batch.states == [
        _state(TASK_ID, "task", "PENDING", "Pending", 1.0, 0),
        _state(TASK_ID, "task", "RUNNING", "Running", 1.1, 1),
        _state(TASK_ID, "task", "RUNNING", "Running", 1.2, 2),
        _state(TASK_ID, "task", "COMPLETED", "Completed", 1.3, 2, data="7"),
    ]
    # And the writers that bind by position get the same values, row after row, in the
    # tables' column order
    columns, values = batch.table("task_runs")
    assert columns == TASK_RUNS.columns
    assert [dict(zip(columns, values, strict=True))] == batch.task_runs
    columns, values = batch.table("states")
    assert columns == STATES.columns and batch.count("states") == 4
    assert [dict(zip(columns, values[i:i + 9], strict=True)) for i in range(0, 36, 9)] == (
        batch.states)


def test_the_same_transition_twice_in_a_batch_is_two_rows_told_apart_by_seq() -> None:
    twice = StateChanged(TASK, "task", Running(timestamp=1.1), 1)
    batch = _built([TaskRunCreated(TASK, "t-0", "t", "t-key", FLOW, {}, frozenset(), 1.0),
                    twice, twice])

    assert [(row["type"], row["seq"]) for row in batch.states] == [
        ("RUNNING", 0), ("RUNNING", 1)]


def test_a_run_of_an_earlier_batch_gets_one_update_and_its_states() -> None:
    # Given a task run created by an earlier batch, and a flow run seen Running
    running: set[str] = set()
    batch = _built([
        FlowRunCreated(FLOW, "run", "f", None, {}, frozenset(), None, None, 0.5),
        StateChanged(FLOW, "flow", Running(timestamp=0.6), 1),
        StateChanged(TASK, "task", Running(timestamp=1.1), 1),
        StateChanged(TASK, "task", Completed(timestamp=1.2, data=None), 1),
    ], running)

    # Then the task run is an update (no row of its own), and the flow run is running
    assert batch.task_runs == []
    assert batch.run_updates == [{
        "id": TASK_ID, "kind": "task", "state_type": "COMPLETED", "state_name": "Completed",
        "state_message": None, "state_timestamp": 1.2, "run_count": 1, "start_time": 1.1,
        "end_time": 1.2, "result": "null",
    }]
    assert [row["run_id"] for row in batch.states] == [FLOW_ID, TASK_ID, TASK_ID]
    assert batch.flow_runs[0]["state_type"] == "RUNNING" and running == {FLOW_ID}


def test_a_batch_made_of_dicts_and_one_made_of_values_are_equal() -> None:
    # Given a built batch (values), and one made by hand from its dicts
    run_id = uuid4()
    built = _built([
        TaskRunCreated(run_id, "t-0", "t", "t-key", FLOW, {}, frozenset(), 1.0),
        StateChanged(run_id, "task", Pending(timestamp=1.0), 0),
        LogEmitted(FLOW, run_id, "headwater.task_runs", 20, "Finished", 1.5),
        LogEmitted(None, None, "x" * 300, 30, "from no run", 1.6),
    ])
    by_hand = Batch(task_runs=built.task_runs, states=built.states, logs=built.logs, now=5.0)

    # Then they are equal, hold as many rows, and the hand-made one names no columns
    assert by_hand == built and len(by_hand) == len(built) == 3
    assert by_hand.table("task_runs") == (None, built.task_runs)
    assert by_hand.table("logs") == (None, built.logs)
    assert built.table("logs")[0] == LOGS.columns
    assert built.logs == [
        {"flow_run_id": FLOW_ID, "task_run_id": str(run_id), "logger": "headwater.task_runs",
         "level": 20, "message": "Finished", "timestamp": 1.5},
        {"flow_run_id": None, "task_run_id": None, "logger": "x" * 255, "level": 30,
         "message": "from no run", "timestamp": 1.6},
    ]


def test_a_record_that_cannot_be_folded_leaves_the_other_runs_rows_as_they_were() -> None:
    # Given a task run's wire tuple with a name that is not a text, between two good ones
    first, bad, last = uuid4(), uuid4(), uuid4()
    kind = codec.KINDS["TaskRunCreated"]
    broken = list(codec.encode(
        TaskRunCreated(bad, "t-1", "t", "t-key", FLOW, {}, frozenset(), 1.0)) or ())
    broken[codec.position(kind, "name")] = 5
    items = [codec.encode(record) for record in (
        TaskRunCreated(first, "t-0", "t", "t-key", FLOW, {}, frozenset(), 1.0),
    )] + [tuple(broken)] + [codec.encode(record) for record in (
        TaskRunCreated(last, "t-2", "t", "t-key", FLOW, {}, frozenset(), 1.0),
        StateChanged(bad, "task", Running(timestamp=1.1), 1),
        StateChanged(last, "task", Running(timestamp=1.2), 1),
    )]

    # When they are folded one by one, as the writer does after a failure
    builder = BatchBuilder(set())
    for item in items:
        assert item is not None
        with contextlib.suppress(TypeError):
            builder.add_wire((item,))

    # Then the good runs have their rows, each with its own state; the bad one's state is
    # an update of a run the store may know
    batch = builder.build()
    assert [(row["name"], row["state_timestamp"]) for row in batch.task_runs] == [
        ("t-0", None), ("t-2", 1.2)]
    assert [update["id"] for update in batch.run_updates] == [str(bad)]
