"""The store sink: a queue on the hot path, a writer (a process of its own, or a thread),
batches, flushes and failures. Every test runs with both writers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater import flow, task
from headwater.engine.runtime import use_sink
from headwater.events.records import LogEmitted
from headwater.events.store import StoreSink
from headwater.runtime import flow_run
from headwater.store import FlowRunFilter, sql_store
from headwater.store.sql import SqlRunStore
from tests.store.processes import wait_until


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlRunStore]:
    made = sql_store(sqlite_url)
    yield made
    made.close()


@pytest.fixture(params=["process", "thread"])
def writer(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


def make_sink(store: SqlRunStore, writer: str, **settings: float) -> StoreSink:
    """A sink writing to `store`: by URL from a writer process, or to the object itself."""
    return StoreSink(store.url if writer == "process" else store, writer=writer, **settings)


@pytest.fixture
def sink(store: SqlRunStore, writer: str) -> Iterator[StoreSink]:
    made = make_sink(store, writer, batch_seconds=0.05, heartbeat_seconds=0.05)
    yield made
    made.close()


@task
def double(x: int) -> int:
    return 2 * x


@flow
def pipeline(n: int = 3) -> int:
    return sum(double(i) for i in range(n))


def test_a_flow_run_is_in_the_store_as_soon_as_the_call_returns(
    sink: StoreSink, store: SqlRunStore
) -> None:
    with use_sink(sink):
        assert pipeline(4) == 12
        # No flush here: the engine flushes when a top-level flow run ends.
        [run] = store.read_flow_runs()

    assert (run.flow_name, run.state_name, run.parameters) == ("pipeline", "Completed", {"n": 4})
    tasks = store.read_task_runs(run.id)
    assert [t.state_name for t in tasks] == ["Completed"] * 4
    assert [t.result for t in tasks] == ["0", "2", "4", "6"]
    assert any("Finished in state" in line.message for line in store.read_logs(run.id))


def test_emit_only_queues_and_the_writer_stores_the_records_in_order_without_a_flush(
    sink: StoreSink, store: SqlRunStore
) -> None:
    # How long records wait is measured in benchmarks/, not bounded here (a busy machine).
    with use_sink(sink):
        pipeline(1)  # the store is open and the schema in place
        [run] = store.read_flow_runs()
    for i in range(3):
        sink.emit(LogEmitted(run.id, None, "probe", 20, f"hello {i}", time.time()))

    def probes() -> list[str]:
        return [line.message for line in store.read_logs(run.id) if line.logger == "probe"]

    assert wait_until(lambda: probes() == ["hello 0", "hello 1", "hello 2"], timeout=60)


def test_flush_waits_for_every_record_emitted_before_it(
    sink: StoreSink, store: SqlRunStore
) -> None:
    with use_sink(sink):
        pipeline(1)
        [run] = store.read_flow_runs()
    for i in range(500):
        sink.emit(LogEmitted(run.id, None, "probe", 20, f"line {i}", time.time()))

    sink.flush()

    assert [line.message for line in store.read_logs(run.id)][-500:] == [
        f"line {i}" for i in range(500)
    ]


def test_records_from_many_threads_are_all_stored(sink: StoreSink, store: SqlRunStore) -> None:
    with use_sink(sink):
        pipeline(1)
        [run] = store.read_flow_runs()

    def emit_some(k: int) -> None:
        for i in range(1000):
            sink.emit(LogEmitted(run.id, None, "probe", 20, f"{k}-{i}", time.time()))

    threads = [threading.Thread(target=emit_some, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sink.flush()

    assert len([x for x in store.read_logs(run.id) if x.logger == "probe"]) == 4000


def test_a_running_flow_run_gets_heartbeats_from_the_writer(
    sink: StoreSink, store: SqlRunStore
) -> None:
    seen: list[float | None] = []

    def heartbeat() -> float | None:
        runs = [run for run in store.read_flow_runs() if str(run.id) == str(flow_run.id)]
        return runs[0].heartbeat if runs else None

    @flow
    def slow() -> None:
        # Heartbeats every 0.05 s; a writer process first has to start (well under 10 s).
        deadline = time.monotonic() + 10
        while heartbeat() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        seen.append(heartbeat())

    with use_sink(sink):
        slow()

    assert seen[0] is not None and seen[0] > time.time() - 5


def test_a_store_that_cannot_be_written_logs_one_error_and_never_fails_the_flow(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, writer: str
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be")
    broken = make_sink(sql_store(f"sqlite:///{blocker / 'headwater.db'}"), writer,
                       batch_seconds=0.05)

    with caplog.at_level(logging.ERROR, logger="headwater.store"), use_sink(broken):
        assert pipeline(2) == 2
        assert pipeline(3) == 6
    broken.close()

    errors = [r for r in caplog.records
              if r.name == "headwater.store" and r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "could not write run history" in errors[0].getMessage()
    assert "not-a-folder" in errors[0].getMessage()
    assert "wait" in errors[0].getMessage()  # the records are not thrown away
    assert broken.stats.waiting > 0 and broken.stats.dropped == 0


def test_close_stores_what_is_queued_and_stops_the_writer(
    store: SqlRunStore, writer: str
) -> None:
    sink = make_sink(store, writer, batch_seconds=1.0)
    with use_sink(sink):
        pipeline(1)
        [run] = store.read_flow_runs(FlowRunFilter())
    sink.emit(LogEmitted(run.id, None, "probe", 20, "last words", time.time()))

    sink.close()

    assert store.read_logs(run.id)[-1].message == "last words"
    assert not sink._thread.is_alive()
    if writer == "process":
        assert sink._process.proc.returncode == 0


def test_a_database_that_is_down_logs_one_error_and_never_fails_the_flow(
    caplog: pytest.LogCaptureFixture, writer: str
) -> None:
    down = make_sink(sql_store("postgresql+psycopg://postgres@127.0.0.1:1/test"), writer,
                     batch_seconds=0.05)

    with caplog.at_level(logging.ERROR, logger="headwater.store"), use_sink(down):
        assert pipeline(2) == 2
        assert pipeline(3) == 6
    down.close()

    errors = [r.getMessage() for r in caplog.records
              if r.name == "headwater.store" and r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "127.0.0.1:1" in errors[0] and "HEADWATER_DATABASE_URL" in errors[0]


def test_a_record_that_cannot_be_encoded_costs_only_itself_and_is_reported_once(
    sink: StoreSink, store: SqlRunStore, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(str):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    with use_sink(sink):
        pipeline(1)
        [run] = store.read_flow_runs()
    with caplog.at_level(logging.ERROR, logger="headwater.store"):
        for i in range(300):
            sink.emit(LogEmitted(run.id, None, "probe", 20, f"line {i}", time.time()))
            if i in (100, 200):
                sink.emit(LogEmitted(run.id, None, "probe", 20, Broken("bad"), time.time()))
        sink.flush()

    assert [line.message for line in store.read_logs(run.id)][-300:] == [
        f"line {i}" for i in range(300)
    ]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert [message.count("RuntimeError: no text") for message in errors] == [1]


def test_flushes_amid_a_burst_of_records_from_another_thread_lose_and_reorder_none(
    sink: StoreSink, store: SqlRunStore, caplog: pytest.LogCaptureFixture
) -> None:
    with use_sink(sink):
        pipeline(1)
        [run] = store.read_flow_runs()

    def burst() -> None:
        for i in range(20_000):
            sink.emit(LogEmitted(run.id, None, "probe", 20, f"line {i}", time.time()))

    emitter = threading.Thread(target=burst)
    with caplog.at_level(logging.WARNING, logger="headwater.store"):
        emitter.start()
        while emitter.is_alive():  # each flush's marker lands amid the burst's records
            sink.flush()
        emitter.join()
        sink.flush()

    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert [line.message for line in store.read_logs(run.id)][-20_000:] == [
        f"line {i}" for i in range(20_000)
    ]
