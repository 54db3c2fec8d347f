"""The SQL run store base, on SQLAlchemy 2 Core; its dialects are in `sqlite.py` and
`postgres.py`.

The base owns the connections, the schema and the maintenance statements; writing batches is in
`sql_writes.py`, reading in `sql_reads.py` and `sql_pages.py`, deployments in
`sql_deployments.py`. A dialect subclass says how to open an engine, how to take the migration
lock, how to lock rows it is about to mark Crashed, and what to do after a write.

SQLAlchemy (and psycopg) are imported by these `sql*` modules only: they are loaded by the store
sink's writer (its process, or its thread), the CLI and the server, never by `import headwater`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    delete,
    func,
    inspect,
    or_,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from headwater.errors import StoreUnavailableError
from headwater.store import schema
from headwater.store.base import (
    FINAL_STATE_TYPES,
    Batch,
    PruneResult,
    Row,
    RunStore,
)
from headwater.store.diagnosis import unavailable_error
from headwater.store.memory import crashed_update
from headwater.store.schema import flow_runs, run_control, task_runs
from headwater.store.sql_deployments import SqlDeploymentMethods
from headwater.store.sql_pages import AggregateCache, SqlPageReads
from headwater.store.sql_reads import SqlReads
from headwater.store.sql_writes import SqlWrites

_CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
MIGRATIONS = Path(__file__).parent / "migrations"


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlRunStore(SqlWrites, SqlReads, SqlDeploymentMethods, SqlPageReads, RunStore):
    """A run store in a SQL database. Opens its engine, and migrates, on first use.

    Args:
        url: a SQLAlchemy URL.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._write_engine: Engine | None = None
        self._open_lock = threading.Lock()
        self._update_statements: dict[tuple[str, tuple[str, ...], bool], Any] = {}
        self._insert_sql: dict[tuple[str, tuple[str, ...], bool], str] = {}
        self._aggregate_cache = AggregateCache()

    # -- dialect hooks ------------------------------------------------------------------------
    def _create_engines(self) -> tuple[Engine, Engine]:
        """(engine for reads, engine for write transactions)."""
        raise NotImplementedError

    def _lock_for_migration(self, conn: Connection) -> None:
        """Serialize migrations between processes (inside the migration transaction)."""

    def _lock_rows(self, query: Select[Any]) -> Select[Any]:
        """Lock rows about to be updated so concurrent callers skip them."""
        return query

    def _after_write(self, conn: Connection, batch: Batch) -> None:
        """Called inside the batch's transaction, after its rows are written."""

    # -- connections --------------------------------------------------------------------------
    def _engines(self) -> tuple[Engine, Engine]:
        if self._engine is None or self._write_engine is None:
            with self._open_lock:
                if self._engine is None or self._write_engine is None:
                    try:
                        read, write = self._create_engines()
                        self._write_engine = write
                        self._ensure_schema(read)
                    except SQLAlchemyError as exc:
                        self._write_engine = None
                        raise self._unavailable(exc, "open") from exc
                    self._engine = read
        return self._engine, self._write_engine

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        engine, _ = self._engines()
        try:
            with engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise self._unavailable(exc, "read") from exc

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One write transaction; retried by callers of `_write` on a transient lock error."""
        _, engine = self._engines()
        with engine.begin() as conn:
            yield conn

    def _write(self, work: Any, what: str) -> Any:
        """Run `work(conn)` in one write transaction, retrying briefly on lock contention."""
        delay = 0.05
        for attempt in range(8):
            try:
                with self._writing() as conn:
                    return work(conn)
            except OperationalError as exc:
                transient = "locked" in str(exc).lower() or "busy" in str(exc).lower()
                if not transient or attempt == 7:
                    raise self._unavailable(exc, what) from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
            except SQLAlchemyError as exc:
                raise self._unavailable(exc, what) from exc
        raise AssertionError("unreachable")

    def _unavailable(self, exc: BaseException, what: str) -> StoreUnavailableError:
        path = getattr(self, "path", None)
        return unavailable_error(self.display_url, str(path) if path else None, what, exc,
                                 conflict=isinstance(exc, IntegrityError))

    # -- schema -------------------------------------------------------------------------------
    def _ensure_schema(self, engine: Engine) -> None:
        with engine.connect() as conn:
            try:  # the common case, one cheap query: the schema is already at head
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except SQLAlchemyError:  # no table yet: a new database
                conn.rollback()
                current = None
        if current != schema.HEAD_REVISION:
            self._migrate()

    def _migrate(self) -> None:
        assert self._write_engine is not None
        with self._write_engine.begin() as conn:
            self._lock_for_migration(conn)
            if _revision(conn) == schema.HEAD_REVISION:  # another process got there first
                return
            from alembic import command
            from alembic.config import Config

            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def upgrade(self) -> None:
        self._engines()
        try:
            self._migrate()
        except SQLAlchemyError as exc:
            raise self._unavailable(exc, "migrate") from exc

    def schema_revision(self) -> str | None:
        """The schema version the database is at (None before the first migration)."""
        with self._reading() as conn:
            return _revision(conn)

    # -- maintenance --------------------------------------------------------------------------
    def mark_crashed(self, *, heartbeat_before: float, now: float) -> list[UUID]:
        return self._write(  # type: ignore[no-any-return]
            lambda conn: self._mark_crashed(conn, heartbeat_before, now), "mark crashed runs in"
        )

    def _mark_crashed(self, conn: Connection, heartbeat_before: float, now: float) -> list[UUID]:
        unfinished = or_(flow_runs.c.state_type.is_(None),
                         flow_runs.c.state_type.not_in(FINAL_STATE_TYPES))
        # A deployment run still waiting for its time has no process to heartbeat it.
        waiting = and_(func.coalesce(flow_runs.c.state_type, "") == "SCHEDULED",
                       flow_runs.c.start_time.is_(None))
        alive = func.coalesce(flow_runs.c.heartbeat, flow_runs.c.created)
        query = self._lock_rows(
            select(flow_runs.c.id, flow_runs.c.run_count)
            .where(unfinished, ~waiting, alive < heartbeat_before)
        )
        flows = [dict(row) for row in conn.execute(query).mappings()]
        if not flows:
            return []
        runs: list[tuple[Row, str]] = [(row, "flow") for row in flows]
        for ids in _chunks([row["id"] for row in flows]):
            task_query = select(task_runs.c.id, task_runs.c.run_count).where(
                task_runs.c.flow_run_id.in_(ids),
                or_(task_runs.c.state_type.is_(None),
                    task_runs.c.state_type.not_in(FINAL_STATE_TYPES)),
            )
            runs.extend((dict(row), "task") for row in conn.execute(task_query).mappings())
        self._apply_transitions(conn, [crashed_update(row, kind, now) for row, kind in runs])
        return [UUID(row["id"]) for row in flows]

    # -- run control ------------------------------------------------------------------------------
    def _write_cancel_request(self, run_id: str, requested_by: str | None, now: float) -> None:
        statement = text(
            "INSERT INTO run_control (flow_run_id, action, requested_at, requested_by) "
            "VALUES (:id, 'cancel', :now, :by) ON CONFLICT (flow_run_id) DO NOTHING"
        )
        self._write(lambda conn: conn.execute(statement, {"id": run_id, "now": now,
                                                          "by": requested_by}),
                    "record a cancel request in")

    def read_cancel_requests(self, flow_run_ids: Sequence[str]) -> list[str]:
        found: list[str] = []
        with self._reading() as conn:
            for ids in _chunks(list(flow_run_ids)):
                query = select(run_control.c.flow_run_id).where(
                    run_control.c.flow_run_id.in_(ids), run_control.c.action == "cancel")
                found.extend(row[0] for row in conn.execute(query))
        return found

    def prune(
        self, *, created_before: float, now: float | None = None, dry_run: bool = False
    ) -> PruneResult:
        from headwater.store.sql_prune import prune

        return prune(self, created_before=created_before,
                     now=time.time() if now is None else now, dry_run=dry_run)

    def reset(self) -> None:
        def work(conn: Connection) -> None:
            for table in schema.ALL_TABLES:
                conn.execute(delete(table))

        self._write(work, "reset")

    def close(self) -> None:
        with self._open_lock:
            for engine in (self._engine, self._write_engine):
                if engine is not None:
                    engine.dispose()
            self._engine = self._write_engine = None



def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
