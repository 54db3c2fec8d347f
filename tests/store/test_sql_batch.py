"""Many rows per INSERT: values one statement's rows share are bound once, columns None in all
of them left out, and every row is stored as it came, in its order."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from headwater.store.batch import Batch
from headwater.store.tables import STATES
from headwater.store.urls import writer_store


def _stored(path: Path, table: str, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id").fetchall()


def test_rows_that_share_values_or_lack_them_are_stored_as_they_came(tmp_path: Path) -> None:
    # Given 250 states (two INSERTs of 111 rows, and a remainder): one kind and name for all,
    # a message only in some rows of the second statement, data in every third row
    types = ("PENDING", "RUNNING", "COMPLETED")
    states = [
        {"run_id": f"run-{i // 3}", "kind": "task", "type": types[i % 3], "name": "Same",
         "message": "late" if i >= 200 else None, "timestamp": 1.0 + i, "run_count": 1,
         "data": "3" if i % 3 == 2 else None, "seq": 0}
        for i in range(250)
    ]
    # And 300 log lines alike in every column: one statement's rows then share everything
    logs = [{"flow_run_id": "f", "task_run_id": None, "logger": "user", "level": 20,
             "message": "same words", "timestamp": 2.0}] * 300
    url = f"sqlite:///{tmp_path / 'runs.db'}"

    # When the lean store writes them, as values and as dicts
    store = writer_store(url)
    store.write_batch(Batch(states=[v for row in states for v in row.values()], logs=logs,
                            columns={"states": STATES.columns}))
    store.close()

    # Then each row is stored as it came, in order
    assert _stored(tmp_path / "runs.db", "states", STATES.columns) == [
        tuple(row.values()) for row in states]
    assert _stored(tmp_path / "runs.db", "logs", tuple(logs[0])) == [
        tuple(logs[0].values())] * 300


def test_no_column_the_writer_inserts_into_has_a_default(tmp_path: Path) -> None:
    # A column None in every row of a statement is left out of it, which stores NULL only
    # while the column has no default: a migration that adds one must change the writer too.
    from headwater.store import sql_store
    from headwater.store.batch import APPEND_TABLES, NEW_RUN_TABLES

    path = tmp_path / "h.db"
    store = sql_store(f"sqlite:///{path}")
    store.read_flow_runs()  # migrated to the newest revision on first use
    store.close()
    with closing(sqlite3.connect(path)) as conn:
        defaults = {
            (table, column[1]): column[4]
            for table in (*NEW_RUN_TABLES, *APPEND_TABLES)
            for column in conn.execute(f"PRAGMA table_info({table})")
        }
    assert len({table for table, _ in defaults}) == len(NEW_RUN_TABLES) + len(APPEND_TABLES)
    assert {key: value for key, value in defaults.items() if value is not None} == {}
