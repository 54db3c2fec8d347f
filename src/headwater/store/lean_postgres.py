"""The writer's PostgreSQL store: plain `psycopg`, the same statements as the SQL store.

New rows go in with `COPY ... FROM STDIN` (a replayed batch's runs with INSERT ... ON
CONFLICT DO NOTHING, which COPY cannot do); crash marking locks rows with `FOR UPDATE SKIP
LOCKED`; every committed batch sends the NOTIFY that `postgres.py` describes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

from headwater.store.batch import Batch, Row
from headwater.store.lean import LeanStore
from headwater.store.sql_batch import SqlDialect, quote
from headwater.store.tables import TableDescription

NOTIFY_CHANNEL = "headwater_runs"


def lean_postgres_store(url: str) -> LeanPostgresStore | None:
    """A `LeanPostgresStore` for a `postgresql+psycopg://` URL; None without psycopg (the SQL
    store then says how to install it)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return None
    return LeanPostgresStore(url)


class PostgresDialect(SqlDialect):
    mark = "%s"
    numbered = False
    lock_rows = " FOR UPDATE SKIP LOCKED"
    find = "strpos"

    def insert_values(self, cursor: Any, table: TableDescription, keys: tuple[str, ...],
                      values: list[Any], *, ignore_existing: bool = False,
                      replay: bool = False) -> None:
        if ignore_existing and replay:
            super().insert_values(cursor, table, keys, values, ignore_existing=True,
                                  replay=True)
            return
        table.insert_sql(keys, mark=self.mark)  # the same check of the keys as an INSERT's
        sql = self.cached(("copy", table.name, keys), _copy_sql, table, keys)
        width = len(keys)
        copy_values(cursor, sql, (values[start:start + width]
                                  for start in range(0, len(values), width)))

    def after_write(self, cursor: Any, batch: Batch) -> None:
        payload = notify_payload(batch)
        if payload is not None:
            cursor.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, payload))


def copy_rows(cursor: Any, sql: str, keys: tuple[str, ...], rows: list[Row]) -> None:
    """`COPY ... FROM STDIN` of `rows` (every row with `keys`, in order) on a psycopg cursor."""
    getter = itemgetter(*keys)
    copy_values(cursor, sql, [(getter(row),) for row in rows] if len(keys) == 1
                else map(getter, rows))


def copy_values(cursor: Any, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    """`COPY ... FROM STDIN` of `rows` (sequences of values, in the statement's column order)
    on a psycopg cursor."""
    with cursor.copy(sql) as copy:
        write_row = copy.write_row
        for row in rows:
            write_row(row)


def notify_payload(batch: Batch) -> str | None:
    """What to NOTIFY listeners (the server's UI) of after `batch` commits: "these flow runs
    changed"; None if nothing did. PostgreSQL delivers a NOTIFY only if the transaction
    commits, and caps payloads at 8,000 bytes."""
    changed = [row["id"] for row in batch.flow_runs]
    changed += [row["id"] for row in batch.run_updates if row["kind"] == "flow"]
    new_tasks = batch.count("task_runs")  # without making a dict of each
    if not changed and not new_tasks:
        return None
    return json.dumps({"flow_runs": changed[:100], "task_runs": new_tasks})


class LeanPostgresStore(LeanStore):
    """Writes batches to a PostgreSQL run store with `psycopg` (see `lean.py`)."""

    dialect = PostgresDialect()

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        import psycopg

        return (psycopg.Error,)

    def _is_broken(self, conn: Any) -> bool:
        return bool(conn.broken or conn.closed)

    def _connect(self) -> Any:
        import psycopg

        conninfo = "postgresql://" + self.url.split("://", 1)[1]
        # A bounded connect timeout: a database that is down must not hold a flow's flush.
        return psycopg.connect(conninfo, connect_timeout=10)


def _copy_sql(table: TableDescription, keys: tuple[str, ...]) -> str:
    return f"COPY {quote(table.name)} ({', '.join(quote(k) for k in keys)}) FROM STDIN"
