"""Case 7: the writer process grew flow by flow (72 → 251 MB over 80 flows of 10,000 tasks),
because each batch's rows were kept by a reference cycle until the cyclic garbage collector
ran, which in a writer process is rare. A batch's rows are now freed when the batch is done.
The RSS across 100 flows is measured in benchmarks/bench_writer_memory.py."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from uuid import uuid4

import pytest

from headwater.events._rows import BatchBuilder
from headwater.events.records import FlowRunCreated, TaskRunCreated
from headwater.store import sql_store
from headwater.store.sql import SqlRunStore


@pytest.fixture
def store(url: str) -> Iterator[SqlRunStore]:
    made = sql_store(url)
    yield made
    made.close()


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_a_written_batch_leaves_no_rows_behind_without_the_cyclic_collector(
    store: SqlRunStore, no_cyclic_gc: None
) -> None:
    flow_id = uuid4()
    records = [FlowRunCreated(flow_id, "run", "f", None, {}, frozenset(), None, None, 1.0)]
    records += [TaskRunCreated(uuid4(), f"t-{i}", "t", "t-key", flow_id, {}, frozenset(), 1.0)
                for i in range(100)]
    builder = BatchBuilder(set())
    builder.add_all(records)
    store.write_batch(builder.build())
    gone = weakref.ref(builder)
    del builder  # what a writer does once a batch is committed

    assert gone() is None  # freed by its reference count, the rows with it
    assert len(store.read_task_runs(flow_id)) == 100
