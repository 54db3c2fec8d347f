"""How the SQL run store writes a batch: runs, their updates, states and the rest, each list
with the driver's `executemany` (PostgreSQL overrides the inserts with COPY: `postgres.py`).

A replayed batch is harmless (`store/replay.py`): runs and states go in with `ON CONFLICT DO
NOTHING`, updates whose state is stored are skipped, and other rows already there are left out.
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, cast, func, insert, select, update

from headwater.store import schema
from headwater.store.base import Batch, Row
from headwater.store.pruning import chunks
from headwater.store.replay import unseen_rows, update_guard
from headwater.store.schema import flow_runs, states, task_runs

_IN_LIST = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's limits


class SqlWrites:
    """Writing batches, in SQL. Mixed into `SqlRunStore`."""

    if TYPE_CHECKING:
        _update_statements: dict[tuple[str, tuple[str, ...], bool], Any]
        _insert_sql: dict[tuple[str, tuple[str, ...], bool], str]

        def _write(self, work: Any, what: str) -> Any: ...
        def _after_write(self, conn: Connection, batch: Batch) -> None: ...

    def write_batch(self, batch: Batch) -> None:
        self._write(lambda conn: self._write_batch(conn, batch), "write to")

    def _write_batch(self, conn: Connection, batch: Batch) -> None:
        for name, rows in batch.new_runs():
            if rows:  # a run already there (a replay) is newer than this row: kept as it is
                self._insert_many(conn, schema.TABLES[name], rows, ignore_existing=True,
                                  replay=batch.replay)
        if batch.run_updates:
            self._apply_updates(conn, batch.run_updates, replay=batch.replay)
        # After the updates: a replayed update is told by its stored state.
        for name, rows in batch.appends():
            table = schema.TABLES[name]
            if rows and batch.replay and table is not states:
                rows = unseen_rows(conn, table, rows)
            if rows:
                self._insert_many(conn, table, rows, ignore_existing=table is states,
                                  replay=batch.replay)
        for ids in chunks(list(batch.heartbeats), _IN_LIST):
            conn.execute(
                update(flow_runs).where(flow_runs.c.id.in_(ids)).values(heartbeat=batch.now)
            )
        self._after_write(conn, batch)

    def _insert_many(
        self, conn: Connection, table: Any, rows: list[Row], *, ignore_existing: bool = False,
        replay: bool = False,
    ) -> None:
        """INSERT rows with the driver's executemany: SQLAlchemy's per-row processing would
        cost more than the insert itself. Every row of one list has the same keys, in order
        (the batch builder makes them that way); the SQL text is still built by SQLAlchemy.

        Args:
            ignore_existing: rows whose primary key is taken are left out (ON CONFLICT DO
                NOTHING); a dialect may do so only when `replay` is set.
            replay: the rows may have been inserted already (see `store/replay.py`).
        """
        keys = tuple(rows[0])
        on_conflict = " ON CONFLICT DO NOTHING" if ignore_existing else ""
        sql = self._insert_sql.get((table.name, keys, ignore_existing))
        if sql is None:
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            quote = conn.dialect.identifier_preparer.quote
            sql = (
                f"INSERT INTO {quote(table.name)} ({', '.join(quote(k) for k in keys)}) "
                f"VALUES ({', '.join(mark for _ in keys)}){on_conflict}"
            )
            self._insert_sql[(table.name, keys, ignore_existing)] = sql
        getter = itemgetter(*keys)
        if len(keys) == 1:
            conn.exec_driver_sql(sql, [(getter(row),) for row in rows])
        else:
            conn.exec_driver_sql(sql, [getter(row) for row in rows])

    def _apply_updates(self, conn: Connection, updates: list[Row], *, replay: bool = False
                       ) -> None:
        # executemany needs one statement per shape of update: group rows by their keys.
        groups: dict[tuple[str, tuple[str, ...]], list[Row]] = {}
        for row in updates:
            keys = tuple(sorted(k for k in row if k not in ("id", "kind")))
            params = {f"b_{k}": v for k, v in row.items() if k != "kind"}
            groups.setdefault((row["kind"], keys), []).append(params)
        for (kind, keys), rows in groups.items():
            guarded = replay and "state_type" in keys
            conn.execute(self._update_statement(kind, keys, guarded), rows)

    def _apply_transitions(self, conn: Connection, transitions: list[tuple[Row, Row]]) -> None:
        """Apply run updates the store makes itself (see `states.transition`), with their
        state rows."""
        if transitions:
            self._apply_updates(conn, [update for update, _ in transitions])
            conn.execute(_APPEND_STATE, [state for _, state in transitions])

    def _update_statement(self, kind: str, keys: tuple[str, ...], guarded: bool = False
                          ) -> Any:
        statement = self._update_statements.get((kind, keys, guarded))
        if statement is None:
            table = flow_runs if kind == "flow" else task_runs
            values: dict[str, Any] = {}
            for key in keys:
                value: Any = bindparam(f"b_{key}")
                if key == "start_time":  # the first Running state wins
                    value = func.coalesce(table.c.start_time, value)
                values[key] = value
            statement = update(table).where(table.c.id == bindparam("b_id"))
            if guarded:  # a replay: only runs whose new state is not stored yet
                statement = statement.where(update_guard(states, bindparam("b_id"), keys))
            statement = statement.values(values)
            self._update_statements[(kind, keys, guarded)] = statement
        return statement


def _append_state() -> Any:
    """INSERT one state row with the next free `seq` of its key: a transition the store makes
    itself is new even if an earlier one agrees on everything (a serve loop's stopped clock)."""
    values = {name: cast(bindparam(name), states.c[name].type)
              for name in ("run_id", "kind", "type", "name", "message", "timestamp",
                           "run_count", "data")}
    same = [states.c[name] == values[name] for name in ("run_id", "timestamp", "type",
                                                        "run_count")]
    seq = func.coalesce(func.max(states.c.seq) + 1, 0)
    return insert(states).from_select(
        [*values, "seq"], select(*values.values(), seq).where(*same))


_APPEND_STATE = _append_state()
