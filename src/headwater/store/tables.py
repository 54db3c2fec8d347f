"""What a writer inserts into, described without SQLAlchemy: one entry per table a `Batch` fills.

The writer (its process, or its thread) writes batches through the database driver alone
(`sql_batch.py`), so it never loads SQLAlchemy to insert rows. Its INSERT statements are made
from these descriptions, never written by hand: the columns of a statement are the keys of the
rows `store/` builds, checked against the description's columns. `schema.py` holds the same
tables for SQLAlchemy (migrations, reads); a test checks that both agree, column for column.

Adding a table a batch fills: a `Batch` field, named in `Batch.appends()` (or `new_runs()`),
a row builder, and a `TableDescription` here, in `TABLES`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

# A column's family of SQL types: what a value bound for it is cast to where the database must
# be told (a SELECT list of parameters), the same on SQLite and PostgreSQL.
SQL_TYPES = {"text": "TEXT", "float": "DOUBLE PRECISION", "int": "INTEGER"}


class TableDescription(NamedTuple):
    """One table a writer inserts rows into.

    Attributes:
        name: the table, and the name `Batch.new_runs()` / `Batch.appends()` give its rows.
        columns: every column a row may set, in the table's order; an autoincrement `id` is
            not among them.
        types: each column's family of types ("text", "float", "int"; see `SQL_TYPES`).
        replay_key: how rows of a replayed batch already stored are found: by a range of this
            column ("timestamp"), or by the values of it ("task_run_id"); None for tables
            whose rows name themselves (`key`): a row already there is kept as it is (ON
            CONFLICT DO NOTHING).
        key: the columns that name a row (its primary or unique key), if rows have names.
    """

    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    replay_key: str | None = None
    key: tuple[str, ...] = ()

    def insert_sql(
        self, keys: Iterable[str], *, mark: str, quote: Callable[[str], str] = str,
        ignore_existing: bool = False, rows: int = 1,
    ) -> str:
        """The INSERT statement for rows with these keys (in this order).

        Args:
            keys: the rows' keys, every one a column of this table.
            mark: the driver's placeholder ("?" for sqlite3, "%s" for psycopg).
            quote: quotes an identifier for the database, if it needs it.
            ignore_existing: rows whose key is taken are left out (ON CONFLICT DO NOTHING).
            rows: how many rows one execution inserts (that many groups of values, the
                values of the first row first).

        Raises:
            ValueError: a key is not a column of this table (a row builder's bug).
        """
        names = tuple(keys)
        unknown = [key for key in names if key not in self.columns]
        if unknown or not names:
            raise ValueError(
                f"Rows for table {self.name!r} carry {unknown or 'no'} column(s) the table does "
                f"not have; its columns are {list(self.columns)}."
            )
        group = f"({', '.join(mark for _ in names)})"
        return (
            f"INSERT INTO {quote(self.name)} ({', '.join(quote(key) for key in names)}) "
            f"VALUES {', '.join(group for _ in range(rows))}"
            + (" ON CONFLICT DO NOTHING" if ignore_existing else "")
        )

    def cast(self, column: str, mark: str) -> str:
        """A bound value for `column`, cast to its type (`CAST(? AS TEXT)`)."""
        return f"CAST({mark} AS {SQL_TYPES[self.types[self.columns.index(column)]]})"


def _table(name: str, spec: str, replay_key: str | None = None,
           key: tuple[str, ...] = ()) -> TableDescription:
    """A description from "column:type column:type ..." (see `SQL_TYPES` for the types)."""
    pairs = [item.split(":") for item in spec.split()]
    return TableDescription(name, tuple(c for c, _ in pairs), tuple(t for _, t in pairs),
                            replay_key, key)


_RUN = ("id:text name:text parameters:text tags:text created:float state_type:text "
        "state_name:text state_message:text state_timestamp:float start_time:float "
        "end_time:float run_count:int result:text")

FLOW_RUNS = _table("flow_runs", _RUN + (
    " flow_name:text flow_version:text parent_flow_run_id:text parent_task_run_id:text"
    " heartbeat:float identity:text entrypoint:text"), key=("id",))
TASK_RUNS = _table("task_runs", _RUN + (
    " task_name:text task_key:text flow_run_id:text identity:text"), key=("id",))
STATES = _table("states", (
    "run_id:text kind:text type:text name:text message:text timestamp:float run_count:int "
    "data:text seq:int"), key=("run_id", "timestamp", "type", "run_count", "seq"))
LOGS = _table("logs", (
    "flow_run_id:text task_run_id:text logger:text level:int message:text timestamp:float"),
    replay_key="timestamp")
DEPENDENCIES = _table("dependencies", "task_run_id:text upstream_run_id:text parameter:text",
                      replay_key="task_run_id")
EVENTS = _table("events", (
    "name:text resource:text related:text payload:text flow_run_id:text task_run_id:text "
    "timestamp:float"), replay_key="timestamp")
ASSET_EVENTS = _table("asset_events", (
    "asset_key:text kind:text timestamp:float flow_run_id:text task_run_id:text "
    "materialized_by:text upstream:text metadata:text properties:text"), replay_key="timestamp")
ASSET_EDGES = _table("asset_edges", (
    "upstream_key:text downstream_key:text timestamp:float flow_run_id:text task_run_id:text"),
    replay_key="timestamp")

# Every table a batch fills, by name (`Batch.new_runs()` and `Batch.appends()` name them).
TABLES = {t.name: t for t in (FLOW_RUNS, TASK_RUNS, STATES, LOGS, DEPENDENCIES, EVENTS,
                              ASSET_EVENTS, ASSET_EDGES)}
RUN_TABLES = {"flow": FLOW_RUNS, "task": TASK_RUNS}  # a run update's `kind` -> its table
