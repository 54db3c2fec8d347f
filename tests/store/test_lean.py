"""The writer's lean store writes what the SQL store writes, through the driver alone, and loads
SQLAlchemy and Alembic only to migrate a database that is behind."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from headwater.core.states import Completed, Failed, Pending, Running
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
from headwater.store import sql_store
from headwater.store.batch import Batch
from headwater.store.lean import BatchTarget, LeanStore
from headwater.store.lean_sqlite import lean_sqlite_store
from headwater.store.sql import SqlRunStore
from headwater.store.tables import TABLES
from headwater.store.urls import writer_store


def _batch(records: list[object], *, replay: bool = False,
           heartbeats: tuple[str, ...] = ()) -> Batch:
    builder = BatchBuilder(set())
    builder.add_all(records)
    return builder.build(now=5.0, replay=replay, heartbeats=heartbeats)


def _batches() -> list[Batch]:
    flow_id, first, second = uuid4(), uuid4(), uuid4()
    asset = Event("headwater.asset.materialization.succeeded", {"prefect.resource.id": "s3://b/k"},
                  ({"prefect.resource.id": "s3://b/up", "prefect.resource.role": "asset"},),
                  {}, flow_id, first, 1.35)
    created = [
        FlowRunCreated(flow_id, "run", "f", None, {"x": 1}, ("a",), None, None, 1.0),
        StateChanged(flow_id, "flow", Running(timestamp=1.0), 1),
        TaskRunCreated(first, "t-0", "t", "t-key", flow_id, {}, (), 1.1),
        StateChanged(first, "task", Pending(timestamp=1.1), 0),
    ]
    later = [
        StateChanged(first, "task", Running(timestamp=1.2), 1),
        StateChanged(first, "task", Completed(timestamp=1.3, data=3), 1),
        RunRenamed(first, "task", "t-renamed"),
        asset,
        TaskRunCreated(second, "t-1", "t", "t-key", flow_id, {}, (), 1.4),
        StateChanged(second, "task", Failed(timestamp=1.5, message="boom"), 1),
        DependencyAdded(second, first, "x"),
        LogEmitted(flow_id, first, "user", logging.INFO, "same words", 1.6),
        LogEmitted(flow_id, first, "user", logging.INFO, "same words", 1.6),
    ]
    final = [StateChanged(flow_id, "flow", Completed(timestamp=2.0), 1)]
    return [
        _batch(created), _batch(later, heartbeats=(str(flow_id),)), _batch(final),
        _batch(created, replay=True), _batch(later, replay=True), _batch(final, replay=True),
    ]


def _rows(store: SqlRunStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a writer writes, without the ids the database gives."""
    from sqlalchemy import text

    found = {}
    with store._reading() as conn:
        for description in TABLES.values():
            columns = ", ".join(description.columns)
            rows = conn.execute(text(f"SELECT {columns} FROM {description.name}"))
            found[description.name] = sorted(tuple(row) for row in rows)
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def two_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lean.db'}", f"sqlite:///{tmp_path / 'sql.db'}"
    else:
        yield request.getfixturevalue("pg_url"), _another_pg_url(request)


def _another_pg_url(request: pytest.FixtureRequest) -> str:
    # A second schema of its own: `pg_url` gives one per test, so ask for a fresh one by hand.
    import psycopg

    dsn = request.getfixturevalue("pg_dsn")
    plain = dsn.replace("postgresql+psycopg://", "postgresql://")
    schema = f"hw_test_{uuid4().hex[:12]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    request.addfinalizer(drop)
    return f"{dsn}{'&' if '?' in dsn else '?'}options=-csearch_path%3D{schema}"


def test_the_lean_store_writes_the_rows_the_sql_store_writes(
    two_urls: tuple[str, str],
) -> None:
    lean_url, sql_url = two_urls
    lean, sql = writer_store(lean_url), sql_store(sql_url)
    assert isinstance(lean, LeanStore)

    # Given the same batches, replays among them, written by each store
    stores: tuple[BatchTarget, BatchTarget] = (lean, sql)
    for batch in _batches():
        for store in stores:
            store.write_batch(batch)
    lean.close()

    # Then both hold the same rows, each once
    read_back = sql_store(lean_url)
    try:
        assert _rows(read_back) == _rows(sql)
        assert len(_rows(sql)["logs"]) == 2
    finally:
        read_back.close()
        sql.close()


def test_the_lean_store_marks_crashed_the_runs_the_sql_store_marks(
    two_urls: tuple[str, str],
) -> None:
    lean_url, sql_url = two_urls
    lean, sql = writer_store(lean_url), sql_store(sql_url)
    batches = _batches()[:2]  # the flow run is still Running, its heartbeat old
    for store in (lean, sql):
        for batch in batches:
            store.write_batch(batch)

    marked = [store.mark_crashed(heartbeat_before=10.0, now=11.0) for store in (lean, sql)]
    lean.close()

    assert marked[0] == marked[1] and len(marked[0]) == 1
    read_back = sql_store(lean_url)
    try:
        assert _rows(read_back) == _rows(sql)
    finally:
        read_back.close()
        sql.close()


def test_the_lean_store_reads_cancel_requests(sqlite_url: str) -> None:
    flow_id = uuid4()
    sql = sql_store(sqlite_url)
    sql.write_batch(_batch([FlowRunCreated(flow_id, "run", "f", None, {}, (), None, None, 1.0)]))
    sql.request_cancel(flow_id)
    sql.close()
    lean = writer_store(sqlite_url)

    assert lean.read_cancel_requests([str(flow_id), str(uuid4())]) == [str(flow_id)]
    lean.close()


def _modules_after_writing(url: str) -> dict[str, Any]:
    script = (
        "import json, sys\n"
        "from headwater.store.urls import writer_store\n"
        "from headwater.store.batch import Batch\n"
        f"store = writer_store({url!r})\n"
        "store.write_batch(Batch(logs=[{'flow_run_id': None, 'task_run_id': None, "
        "'logger': 'x', 'level': 20, 'message': 'm', 'timestamp': 1.0}]))\n"
        "store.close()\n"
        "print(json.dumps({'kind': type(store).__name__, 'loaded': sorted(m for m in "
        "('sqlalchemy', 'alembic') if m in sys.modules)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HEADWATER_STORE": ""})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_a_writer_loads_alembic_only_for_a_database_that_is_behind(sqlite_url: str) -> None:
    # A new file is behind (it has no tables): migrated, with SQLAlchemy and Alembic
    first = _modules_after_writing(sqlite_url)
    # Once it is at the newest version, writing needs neither
    second = _modules_after_writing(sqlite_url)

    assert first == {"kind": "LeanSqliteStore", "loaded": ["alembic", "sqlalchemy"]}
    assert second == {"kind": "LeanSqliteStore", "loaded": []}


def test_a_read_only_file_is_left_to_the_sql_store(tmp_path: Path) -> None:
    path = tmp_path / "headwater.db"
    made = sql_store(f"sqlite:///{path}")
    made.upgrade()
    made.close()
    path.chmod(0o400)
    try:
        store = writer_store(f"sqlite:///{path}")
        assert isinstance(store, SqlRunStore) or os.access(path, os.W_OK)  # root writes all
    finally:
        path.chmod(0o600)


def test_urls_the_lean_store_does_not_know_are_left_to_the_sql_store(tmp_path: Path) -> None:
    assert isinstance(writer_store("sqlite://"), SqlRunStore)
    assert isinstance(writer_store(f"sqlite:///{tmp_path / 'x.db'}?timeout=3"), SqlRunStore)


def test_a_start_that_finds_no_silent_run_does_not_wait_for_the_write_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "headwater.db"
    made = sql_store(f"sqlite:///{path}")
    made.upgrade()
    made.close()
    lean = lean_sqlite_store(f"sqlite:///{path}", busy_timeout=0.05)
    assert lean is not None
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the write lock

        # A writer's start marks what is silent: nothing, found with a read alone
        assert lean.mark_crashed(heartbeat_before=10.0, now=11.0) == []

        other.execute("ROLLBACK")
    lean.close()


def test_none_binds_as_null_and_an_adapter_someone_registered_for_none_is_kept(
    tmp_path: Path,
) -> None:
    from headwater.store.lean_sqlite import bind_none_directly

    key = (type(None), sqlite3.PrepareProtocol)
    saved = sqlite3.adapters.pop(key, None)
    try:
        bind_none_directly()
        with closing(sqlite3.connect(tmp_path / "t.db")) as conn:
            conn.execute("CREATE TABLE t (a)")
            conn.execute("INSERT INTO t VALUES (?)", (None,))
            assert conn.execute("SELECT a IS NULL FROM t").fetchone() == (1,)

        def theirs(value: None) -> str:
            return "theirs"

        sqlite3.adapters[key] = theirs
        bind_none_directly()
        assert sqlite3.adapters[key] is theirs
    finally:
        sqlite3.adapters.pop(key, None)
        if saved is not None:
            sqlite3.adapters[key] = saved


def test_a_big_batch_goes_in_many_rows_per_statement_and_a_replay_adds_none(
    two_urls: tuple[str, str],
) -> None:
    # Given a batch of 150 task runs with three states each: more rows than one INSERT of the
    # lean store holds (58 task runs, 111 states), and a remainder
    lean_url, sql_url = two_urls
    lean, sql = writer_store(lean_url), sql_store(sql_url)
    flow_id = uuid4()
    records: list[object] = [
        FlowRunCreated(flow_id, "run", "f", None, {}, (), None, None, 1.0)]
    for i in range(150):
        run_id, at = uuid4(), 2.0 + i / 1000
        records += [
            TaskRunCreated(run_id, f"t-{i}", "t", "t-key", flow_id, {"i": i}, (), at, i + 1),
            StateChanged(run_id, "task", Pending(timestamp=at), 0),
            StateChanged(run_id, "task", Running(timestamp=at + 0.0001), 1),
            StateChanged(run_id, "task", Completed(timestamp=at + 0.0002, data=i), 1),
        ]

    # When each store writes it, and then the same batch again as a replay
    for store in (lean, sql):
        store.write_batch(_batch(records))
        store.write_batch(_batch(records, replay=True))
    lean.close()

    # Then both hold the same rows, each once, and each run's states in the order they came
    read_back = sql_store(lean_url)
    try:
        rows = _rows(read_back)
        assert rows == _rows(sql)
        assert len(rows["task_runs"]) == 150 and len(rows["states"]) == 450
        some = read_back.read_task_runs(flow_id)[77]
        assert [s.type for s in read_back.read_states(some.id)] == [
            "PENDING", "RUNNING", "COMPLETED"]
    finally:
        read_back.close()
        sql.close()


def test_the_sqlite_writer_keeps_statement_journals_in_memory(sqlite_url: str) -> None:
    # A multi-row INSERT's statement journal in a temporary file was most of the writer's
    # page writes; the connection that writes batches keeps it in memory (2 = MEMORY).
    lean = writer_store(sqlite_url)
    assert type(lean).__name__ == "LeanSqliteStore"
    try:
        assert lean._connection().execute("PRAGMA temp_store").fetchone()[0] == 2
    finally:
        lean.close()
