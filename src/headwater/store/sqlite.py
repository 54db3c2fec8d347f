"""The default run store: one SQLite file in WAL mode, shared safely by many processes.

Writes run in `BEGIN IMMEDIATE` transactions: the write lock is taken up front, so the busy
timeout applies and two writers never deadlock on a lock upgrade. WAL means readers (the CLI)
never wait for writers.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from headwater._private import make_private_dir
from headwater.errors import StoreCorruptError, StoreUnavailableError
from headwater.store import schema
from headwater.store.base import Batch
from headwater.store.diagnosis import corrupt_error
from headwater.store.lean_sqlite import QUICK_CHECK_MAX_BYTES, make_private, switch_to_wal
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
        self._checked = False
        self._corrupt: StoreCorruptError | None = None

    def write_batch(self, batch: Batch) -> None:
        """Before its first batch, a writer makes sure the file is not damaged (`PRAGMA
        quick_check`, for files up to `QUICK_CHECK_MAX_BYTES`): SQLite would otherwise write
        into a malformed file for as long as no statement touches a damaged page."""
        if not self._checked:
            self._check_before_writing()
        super().write_batch(batch)

    def _check_before_writing(self) -> None:
        if self._corrupt is not None:
            raise self._corrupt
        path = self.path
        with contextlib.suppress(OSError):
            if path is not None and path.stat().st_size > QUICK_CHECK_MAX_BYTES:
                self._checked = True  # too big to check on every start: errors still tell
                return
        with self._reading() as conn:
            found = [row[0] for row in conn.exec_driver_sql("PRAGMA quick_check(5)")]
        if found != ["ok"]:
            self._corrupt = corrupt_error(self.display_url, str(path), "; ".join(found))
            raise self._corrupt
        self._checked = True

    @property
    def path(self) -> Path | None:
        """The database file, or None for an in-memory database."""
        from sqlalchemy.engine import make_url

        database = make_url(self.url).database
        return Path(database) if database and database != ":memory:" else None

    @property
    def read_only(self) -> bool:
        """Whether the database exists but cannot be written here (a read-only disk or folder,
        or a file without write permission). Such a store can still be read."""
        path = self.path
        if path is None or not path.exists():
            return False
        return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))

    def _create_engines(self) -> tuple[Engine, Engine]:
        if self.read_only:
            assert self.path is not None
            engine = self._read_only_engine(self.path)
            return engine, engine
        if self.path is not None:
            try:
                make_private_dir(self.path.parent)
            except OSError as exc:
                raise StoreUnavailableError(
                    f"Could not create the folder {str(self.path.parent)!r} for the run store: "
                    f"{exc}. Point HEADWATER_HOME at a writable folder.",
                    url=self.url,
                ) from exc
            make_private(self.path)
        return self._engine_with(immediate=False), self._engine_with(immediate=True)

    def _read_only_engine(self, path: Path) -> Engine:
        """An engine that never writes, not even SQLite's -shm file: reading commands work on
        a read-only disk. Without a -wal file beside it, and a folder nobody can write, nobody
        can change the file, so SQLite may treat it as immutable (it needs no locks then)."""
        import sqlite3
        from urllib.parse import quote

        frozen = not os.access(path.parent, os.W_OK) and not Path(f"{path}-wal").exists()
        uri = f"file:{quote(str(path.resolve()))}?mode=ro" + ("&immutable=1" if frozen else "")

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(uri, uri=True, timeout=self.busy_timeout,
                                   check_same_thread=False)
            conn.isolation_level = None
            return conn

        engine = create_engine("sqlite://", creator=connect)

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine

    def _migrate(self) -> None:
        if self.read_only:
            raise StoreUnavailableError(
                f"The run store {str(self.path)!r} is read-only here and its tables are not "
                f"those of this version of headwater (it needs schema version "
                f"{schema.HEAD_REVISION}). Run `headwater db upgrade` once where the file can "
                f"be written, or use the headwater version that wrote it.",
                url=self.url,
            )
        super()._migrate()

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
            switch_to_wal(cursor, self.busy_timeout)
            # NORMAL in WAL mode: a committed batch survives the process being killed; only a
            # power cut can lose the last commits.
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql(begin)

        return engine
