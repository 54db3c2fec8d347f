"""What is particular to the SQLite store: WAL, the schema version, readers never blocked."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from headwater.errors import SettingError
from headwater.store import sql_store
from headwater.store.schema import HEAD_REVISION
from headwater.store.sqlite import SqliteRunStore
from headwater.store.urls import store_for_url


def test_a_new_store_file_is_created_in_wal_mode_at_the_newest_schema(tmp_path: Path) -> None:
    store = sql_store(f"sqlite:///{tmp_path / 'nested' / 'folder' / 'headwater.db'}")

    assert store.read_flow_runs() == []
    assert store.schema_revision() == HEAD_REVISION
    with closing(sqlite3.connect(tmp_path / "nested" / "folder" / "headwater.db")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    store.upgrade()  # idempotent
    assert store.schema_revision() == HEAD_REVISION
    store.close()


def test_readers_are_not_blocked_while_another_writer_holds_the_write_lock(
    sqlite_url: str,
) -> None:
    store = sql_store(sqlite_url)
    store.read_flow_runs()
    path = sqlite_url.removeprefix("sqlite:///")
    locked, release = threading.Event(), threading.Event()

    def hold_write_lock() -> None:
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            locked.set()
            release.wait(120)  # only to stop a hang
            conn.execute("COMMIT")

    holder = threading.Thread(target=hold_write_lock)
    holder.start()
    locked.wait(60)  # only to stop a hang
    # Held until the read returns: a read that waited for the lock would fail with "database
    # is locked" after the busy timeout, not pass late.
    assert store.read_flow_runs() == []
    release.set()
    holder.join()
    store.close()


def test_urls_choose_the_dialect_and_postgres_urls_mean_psycopg() -> None:
    assert isinstance(store_for_url("sqlite:///x.db"), SqliteRunStore)
    assert store_for_url("postgres://u@h/db").url == "postgresql+psycopg://u@h/db"


def test_asking_for_postgres_without_a_postgres_url_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEADWATER_STORE", "postgres")
    monkeypatch.delenv("HEADWATER_DATABASE_URL", raising=False)

    with pytest.raises(SettingError, match="HEADWATER_DATABASE_URL=postgresql"):
        sql_store()
