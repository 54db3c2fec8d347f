"""A memory sink that keeps records for the life of the process freezes them for the cyclic
garbage collector in batches, so a million kept records cost the collector nothing; what it
keeps and what its readers return stay the same. (The speed is measured by
benchmarks/bench_memory_store.py, never here.)"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

import headwater.events
from headwater import flow, task
from headwater.engine.runtime import use_sink
from headwater.events.memory import FREEZE_EVERY, MemorySink, _freezing


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    """Give the test process its collector back: a test here may freeze what is alive."""
    gc.unfreeze()
    yield
    gc.unfreeze()


class Payload:
    """A user value that the test can watch (weak references) and put in a cycle."""

    other: object = None


@task
def double(x: int) -> int:
    return 2 * x


@task
def take(x: object) -> None:
    return None


@flow
def doubles(n: int) -> list[int]:
    return [double(i) for i in range(n)]


def test_a_sink_made_with_freeze_every_freezes_its_records_after_a_full_collection() -> None:
    # Given a sink that freezes every 1,000 records, and a flow run that made 2,000 task runs
    # (the collector paused meanwhile: whether it would run a full collection of its own
    # during the flow depends on what earlier tests left alive)
    sink = MemorySink(freeze_every=1_000)
    gc.disable()
    try:
        with use_sink(sink):
            assert doubles(500) == [2 * i for i in range(500)]
    finally:
        gc.enable()
    assert gc.get_freeze_count() == 0

    # When the collector runs a full collection
    gc.collect()

    # Then the records are frozen, and the sink knows where it froze
    assert gc.get_freeze_count() >= len(sink.records)
    assert sink.frozen_upto == len(sink.records) > 1_000


def test_frozen_records_read_back_the_same() -> None:
    # Given a flow run recorded in a freezing sink, and a copy of what the sink's readers say
    sink = MemorySink(freeze_every=10)
    with use_sink(sink):
        doubles(50)
    flow_run = sink.flow_runs()[0]
    before = (
        [r.task_run_id for r in sink.task_runs_of(flow_run.flow_run_id)],
        [sink.state_names(r.task_run_id) for r in sink.task_runs()],
        list(sink.records),
    )

    # When its records are frozen
    gc.collect()
    assert gc.get_freeze_count() > 0

    # Then every reader gives the same answers, about the same record objects
    assert [r.task_run_id for r in sink.task_runs_of(flow_run.flow_run_id)] == before[0]
    assert [sink.state_names(r.task_run_id) for r in sink.task_runs()] == before[1]
    assert all(a is b for a, b in zip(sink.records, before[2], strict=True))
    assert sink.final_state(flow_run.flow_run_id).result() == [2 * i for i in range(50)]
    assert len(sink.task_runs()) == 50


def test_a_sink_without_freeze_every_never_freezes() -> None:
    # Given a plain sink (what tests and worker processes use) that kept many records
    sink = MemorySink()
    with use_sink(sink):
        doubles(300)

    # When the collector runs a full collection, then nothing is frozen
    gc.collect()
    assert gc.get_freeze_count() == 0
    assert sink.freeze_every is None and sink not in _freezing


def test_garbage_is_collected_before_it_could_be_frozen() -> None:
    # Given a user value in an unreachable reference cycle, made while a freezing sink fills
    sink = MemorySink(freeze_every=1)
    cycle = Payload()
    cycle.other = cycle
    watched = weakref.ref(cycle)
    with use_sink(sink):
        doubles(5)
    del cycle

    # When a full collection runs and the sink freezes what survived it
    gc.collect()
    assert gc.get_freeze_count() > 0

    # Then the cycle was collected, not frozen
    assert watched() is None


def test_frozen_records_are_still_freed_when_the_sink_is_cleared() -> None:
    # Given a frozen sink whose records hold a user value (no cycle)
    sink = MemorySink(freeze_every=1)
    payload = Payload()
    watched = weakref.ref(payload)
    with use_sink(sink):
        doubles(3)
        take(payload)  # its TaskRunCreated record keeps the value, as a parameter
    del payload
    gc.collect()
    assert gc.get_freeze_count() > 0 and watched() is not None

    # When the sink is cleared, then reference counting frees the value at once
    sink.clear()
    assert watched() is None
    assert sink.frozen_upto == 0 and len(sink) == 0


def test_a_sink_nobody_uses_is_not_kept_alive_by_freezing() -> None:
    sink = MemorySink(freeze_every=5)
    watched = weakref.ref(sink)
    assert sink in _freezing

    del sink

    assert watched() is None
    gc.collect()  # the collector's hook runs without it


def test_the_memory_store_setting_opens_a_freezing_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_STORE", "memory")

    sink = headwater.events.open_default_sink()

    assert isinstance(sink, MemorySink)
    assert sink.freeze_every == FREEZE_EVERY


@pytest.mark.parametrize("bad", [0, -5])
def test_freeze_every_must_be_positive(bad: int) -> None:
    with pytest.raises(ValueError, match=r"freeze_every=-?\d+\) must be a positive number"):
        MemorySink(freeze_every=bad)
