"""The writer's store: batches written through the database driver alone, without SQLAlchemy.

A writer (the store sink's process, or its thread) needs four things of a store: write a
batch, mark Crashed the runs of dead processes, read cancel requests, close. `LeanStore` does
them with one connection of the driver (`sqlite3`, `psycopg`) and the statements of
`sql_batch.py`, so a writer starts in a few milliseconds instead of the ~0.2 s that importing
SQLAlchemy takes. On opening, it reads the schema version with one query; only a database
whose version is not the newest migration's (a new file, an older headwater's) is handed to
the SQL store (`sql.py`) to migrate, with SQLAlchemy and Alembic, before writing goes on here.

`urls.writer_store(url)` picks it, or the SQL store where the lean one does not go (a
read-only file, an unusual URL): both raise the same errors, and write the same rows.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from headwater._redact import redact_url
from headwater.errors import StoreUnavailableError
from headwater.store import sql_batch
from headwater.store.batch import Batch
from headwater.store.diagnosis import unavailable_error
from headwater.store.revision import head_revision

if TYPE_CHECKING:
    from uuid import UUID

    from headwater.store.sql import SqlRunStore


class BatchTarget(Protocol):
    """What a writer needs of a store (every `RunStore` is one, and so is a `LeanStore`)."""

    def write_batch(self, batch: Batch) -> None: ...

    def mark_crashed(self, *, heartbeat_before: float, now: float) -> list[UUID]: ...

    def read_cancel_requests(self, flow_run_ids: Sequence[str]) -> list[str]: ...

    def close(self) -> None: ...


class LeanStore:
    """Writes batches to a SQL run store through one driver connection (see the module).

    Args:
        url: the store's URL (SQLAlchemy form, as settings give it).
    """

    dialect: sql_batch.SqlDialect
    path: str | None = None  # the SQLite file, for error messages

    def __init__(self, url: str) -> None:
        self.url = url
        self.display_url = redact_url(url)
        self._conn: Any = None
        self._lock = threading.Lock()

    # -- dialect hooks ------------------------------------------------------------------------
    def _connect(self) -> Any:
        """A new driver connection, set up for writing."""
        raise NotImplementedError

    def _begin(self, conn: Any) -> None:
        """Start a write transaction (a driver that starts one by itself needs nothing)."""

    def _is_transient(self, exc: BaseException) -> bool:
        """Whether `exc` is lock contention, worth trying again at once."""
        text = str(exc).lower()
        return "locked" in text or "busy" in text

    def _is_missing_table(self, exc: BaseException) -> bool:
        return "no such table" in str(exc).lower() or "does not exist" in str(exc).lower()

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        raise NotImplementedError

    def _is_broken(self, conn: Any) -> bool:
        """Whether `conn` was lost (the server dropped it): a new one may succeed at once."""
        return False

    # -- connections and the schema -----------------------------------------------------------
    def _connection(self) -> Any:
        if self._conn is None:
            conn = self._connect()
            try:
                if self._revision(conn) != head_revision():
                    self._migrate()
            except BaseException:
                _close_quietly(conn)
                raise
            self._conn = conn
        return self._conn

    def _revision(self, conn: Any) -> str | None:
        """The schema version (None for a database without tables), with one cheap query."""
        cursor = conn.cursor()
        try:
            cursor.execute("SELECT version_num FROM alembic_version")
            row = cursor.fetchone()
            return None if row is None else str(row[0])
        except self._driver_errors() as exc:
            if not self._is_missing_table(exc):
                raise
            return None
        finally:
            cursor.close()
            conn.rollback()

    def _migrate(self) -> None:
        """Bring the schema to the newest version: the SQL store's job (SQLAlchemy, Alembic)."""
        store = full_store(self.url)
        try:
            store._engines()  # opening it migrates a database that is behind, under a lock
        finally:
            store.close()

    def _reset(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            _close_quietly(conn)

    def _run(self, work: Callable[[Any], Any], what: str, *, write: bool = True) -> Any:
        """`work(cursor)` in one transaction, retried briefly on lock contention; any driver
        error becomes a `StoreUnavailableError` (or one of its kinds)."""
        delay = 0.05
        reconnected = False
        with self._lock:
            for attempt in range(8):
                try:
                    conn = self._connection()
                except self._driver_errors() as exc:
                    self._reset()
                    raise self._unavailable(exc, "open") from exc
                committing = False
                try:
                    if write:
                        self._begin(conn)
                    cursor = conn.cursor()
                    try:
                        result = work(cursor)
                    finally:
                        cursor.close()
                    committing = True
                    conn.commit()
                    return result
                except self._driver_errors() as exc:
                    _rollback_quietly(conn)
                    if self._is_broken(conn) and not committing and not reconnected:
                        # Lost while idle (a server restart, a dropped connection): nothing of
                        # this transaction was committed, so it is tried once more on a new
                        # connection, as a pool that pings its connections would.
                        reconnected = True
                        self._reset()
                        continue
                    if not self._is_transient(exc) or attempt == 7:
                        self._reset()  # a dropped connection is made anew next time
                        raise self._unavailable(exc, what) from exc
                except BaseException:
                    _rollback_quietly(conn)
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")

    def _unavailable(self, exc: BaseException, what: str) -> StoreUnavailableError:
        return unavailable_error(self.display_url, self.path, what, exc,
                                 conflict=type(exc).__name__ in ("IntegrityError",
                                                                 "UniqueViolation"))

    # -- what a writer needs --------------------------------------------------------------------
    def write_batch(self, batch: Batch) -> None:
        """Write `batch` in one transaction (see `RunStore.write_batch`)."""
        self._run(lambda cursor: sql_batch.write_batch(cursor, self.dialect, batch), "write to")

    def mark_crashed(self, *, heartbeat_before: float, now: float) -> list[UUID]:
        """Mark Crashed the unfinished runs of flow runs silent since `heartbeat_before`."""

        def work(cursor: Any) -> list[UUID]:
            from uuid import UUID  # rarely: most starts find no run to mark (below)

            runs = sql_batch.crashed_runs(cursor, self.dialect, heartbeat_before)
            if runs:  # rarely: the memory store's module is loaded only then
                from headwater.store.memory import crashed_update

                made = [crashed_update(row, kind, now) for row, kind in runs]
                sql_batch.apply_updates(cursor, self.dialect, [update for update, _ in made])
                sql_batch.append_states(cursor, self.dialect, [state for _, state in made])
            return [UUID(row["id"]) for row, kind in runs if kind == "flow"]

        # Most starts find none: a read says so without taking the write lock.
        if not self._run(lambda cursor: sql_batch.crashed_runs(
                cursor, self.dialect, heartbeat_before, lock=False), "read", write=False):
            return []
        return self._run(work, "mark crashed runs in")  # type: ignore[no-any-return]

    def read_cancel_requests(self, flow_run_ids: Sequence[str]) -> list[str]:
        """Which of these flow runs were asked to stop."""
        return self._run(  # type: ignore[no-any-return]
            lambda cursor: sql_batch.cancel_requests(cursor, self.dialect, flow_run_ids),
            "read", write=False)

    def close(self) -> None:
        with self._lock:
            self._reset()


def full_store(url: str) -> SqlRunStore:
    """The SQL store (SQLAlchemy) for `url`."""
    from headwater.store import sql_store

    return sql_store(url)


def _close_quietly(conn: Any) -> None:
    with contextlib.suppress(Exception):  # a connection the server already dropped
        conn.close()


def _rollback_quietly(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.rollback()
