"""`MemoryStore` keeps its rows as dicts, lists and strings of plain values, which CPython's
cyclic garbage collector does not track: a store holding a million task runs costs the
collector nothing, with no freezing (unlike the memory sink, events/memory.py)."""

from __future__ import annotations

import gc
import time
from typing import Any
from uuid import uuid4

from headwater.core.states import Completed, Failed, Pending, Running
from headwater.events._rows import BatchBuilder
from headwater.events.records import (
    DependencyAdded,
    FlowRunCreated,
    LogEmitted,
    StateChanged,
    TaskRunCreated,
)
from headwater.store import MemoryStore


def write(store: MemoryStore, records: list[Any], running: set[str]) -> None:
    builder = BatchBuilder(running)
    builder.add_all(records)
    store.write_batch(builder.build(now=time.time()))


def test_a_memory_store_keeps_no_row_the_collector_must_walk() -> None:
    # Given a flow run with 200 task runs, their states, logs and dependencies, in two batches
    store, flow_run_id = MemoryStore(), uuid4()
    write(store, [
        FlowRunCreated(flow_run_id, "brave-otter", "etl", None, {"n": 200}, frozenset({"a"}),
                       None, None, time.time()),
        StateChanged(flow_run_id, "flow", Running(), 1),
    ], set())
    records: list[Any] = []
    previous = None
    for i in range(200):
        task_run_id = uuid4()
        final = Completed(data=i) if i % 2 else Failed(message="boom", data=ValueError(i))
        records += [
            TaskRunCreated(task_run_id, f"add-{i}", "add", "mod.add", flow_run_id, {"x": i},
                           frozenset({"t"}), time.time(), i),
            StateChanged(task_run_id, "task", Pending(), 0),
            StateChanged(task_run_id, "task", Running(), 1),
            StateChanged(task_run_id, "task", final, 1),
            LogEmitted(flow_run_id, task_run_id, "headwater.task_runs", 20, "done", time.time()),
        ]
        if previous is not None:
            records.append(DependencyAdded(task_run_id, previous, "x"))
        previous = task_run_id
    write(store, records, {str(flow_run_id)})
    del records

    # When the collector has looked at everything once (it untracks what holds only atoms)
    gc.collect()

    # Then no stored row is tracked, and the store reads back what was written
    states = [row for history in store._states.values() for row in history]
    rows = [*store._flow_runs.values(), *store._task_runs.values(), *store._logs,
            *store._dependencies, *states]
    assert len(rows) == 1 + 200 + 200 + 199 + len(states) and len(states) >= 1 + 600
    assert [row for row in rows if gc.is_tracked(row)] == []
    assert len(store.read_task_runs(flow_run_id)) == 200
    assert len(store.read_logs(flow_run_id)) == 200
    assert len(store.read_dependencies(flow_run_id)) == 199
