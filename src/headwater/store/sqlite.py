"""The default run store: one SQLite file in WAL mode, shared safely by many processes.

Writes run in `BEGIN IMMEDIATE` transactions: the write lock is taken up front, so the busy
timeout applies and two writers never deadlock on a lock upgrade. WAL means readers (the CLI)
never wait for writers.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from headwater._private import make_private_dir, make_private_file, tighten
from headwater.errors import StoreUnavailableError
from headwater.store.sql import SqlRunStore


class SqliteRunStore(SqlRunStore):
    """The default store: one SQLite file in WAL mode, shared safely by many processes.

    Args:
        url: `sqlite:///path/to/file.db`; the folder is created if needed.
        busy_timeout: seconds a writer waits for another process's write lock.
    """

    def __init__(self, url: str, *, busy_timeout: float = 60.0) -> None:
        super().__init__(url)
        self.busy_timeout = busy_timeout

    @property
    def path(self) -> Path | None:
        """The database file, or None for an in-memory database."""
        from sqlalchemy.engine import make_url

        database = make_url(self.url).database
        return Path(database) if database and database != ":memory:" else None

    def _create_engines(self) -> tuple[Engine, Engine]:
        if self.path is not None:
            try:
                make_private_dir(self.path.parent)
            except OSError as exc:
                raise StoreUnavailableError(
                    f"Could not create the folder {str(self.path.parent)!r} for the run store: "
                    f"{exc}. Point HEADWATER_HOME at a writable folder.",
                    url=self.url,
                ) from exc
            self._make_private(self.path)
        return self._engine_with(immediate=False), self._engine_with(immediate=True)

    @staticmethod
    def _make_private(path: Path) -> None:
        """The database file is created 0600 before SQLite opens it (SQLite gives its -wal and
        -shm files the database file's mode); one left 0644 by an older version is tightened."""
        with contextlib.suppress(OSError):  # a read-only folder: reading still works
            make_private_file(path)
        for suffix in ("-wal", "-shm", "-journal"):
            tighten(path.with_name(path.name + suffix))

    def _engine_with(self, *, immediate: bool) -> Engine:
        engine = create_engine(
            self.url, connect_args={"timeout": self.busy_timeout, "check_same_thread": False}
        )
        busy_ms = int(self.busy_timeout * 1000)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, record: Any) -> None:
            # We issue BEGIN ourselves; pysqlite's implicit transactions would defer the lock.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            _switch_to_wal(cursor, self.busy_timeout)
            # NORMAL in WAL mode: a committed batch survives the process being killed; only a
            # power cut can lose the last commits.
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql(begin)

        return engine


def _switch_to_wal(cursor: Any, timeout: float) -> None:
    """`PRAGMA journal_mode = WAL`, retried: SQLite does not call the busy handler for it, so
    processes that open a new file at the same moment would see "database is locked"."""
    import sqlite3

    deadline = time.monotonic() + timeout
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
