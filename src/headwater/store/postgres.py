"""The PostgreSQL run store (`postgresql+psycopg://...`), for teams and many machines.

Migrations take an advisory lock; crash marking locks rows with `FOR UPDATE SKIP LOCKED`, so two
processes never mark the same run; every committed batch sends a NOTIFY for listeners. New rows
go in with `COPY ... FROM STDIN`, several times faster than an `executemany` of INSERTs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, Select, create_engine, text

from headwater.errors import StoreConfigurationError
from headwater.store.base import Batch, Row
from headwater.store.lean_postgres import NOTIFY_CHANNEL, copy_rows, notify_payload
from headwater.store.sql import SqlRunStore


class PostgresRunStore(SqlRunStore):
    """A PostgreSQL store (`postgresql+psycopg://...`), for teams and many machines.

    Every committed batch sends `NOTIFY headwater_runs` with a JSON payload
    `{"flow_runs": [ids of flow runs created or changed], "task_runs": <new task runs>}`.
    """

    def _create_engines(self) -> tuple[Engine, Engine]:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise StoreConfigurationError(
                f"HEADWATER_DATABASE_URL={self.display_url!r} needs the PostgreSQL driver. "
                f"Install it with: pip install 'headwater[postgres]'",
                url=self.display_url,
            ) from exc
        # A bounded connect timeout: a database that is down must not hold a flow's flush.
        engine = create_engine(
            self.url, pool_pre_ping=True, pool_size=4, max_overflow=4,
            connect_args={"connect_timeout": 10},
        )
        return engine, engine

    def _insert_many(
        self, conn: Connection, table: Any, rows: list[Row], *, ignore_existing: bool = False,
        replay: bool = False,
    ) -> None:
        # COPY as below is psycopg 3's API, and it cannot skip rows already there: a replayed
        # batch takes INSERT ... ON CONFLICT DO NOTHING. (A first attempt that meets a row
        # already there fails, and the writer sends it again as a replay.)
        if conn.dialect.driver != "psycopg" or (ignore_existing and replay):
            super()._insert_many(conn, table, rows, ignore_existing=ignore_existing)
            return
        # Every row of one list has the same keys, in order (the batch builder makes them so).
        keys = tuple(rows[0])
        quote = conn.dialect.identifier_preparer.quote
        sql = f"COPY {quote(table.name)} ({', '.join(quote(k) for k in keys)}) FROM STDIN"
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            copy_rows(cursor, sql, keys, rows)
        finally:
            cursor.close()

    def _lock_for_migration(self, conn: Connection) -> None:
        conn.execute(text("SELECT pg_advisory_xact_lock(7302196585)"))

    def _after_write(self, conn: Connection, batch: Batch) -> None:
        payload = notify_payload(batch)
        if payload is None:
            return
        conn.execute(text("SELECT pg_notify(:channel, :payload)"),
                     {"channel": NOTIFY_CHANNEL, "payload": payload})

    def _lock_rows(self, query: Select[Any]) -> Select[Any]:
        return query.with_for_update(skip_locked=True)
