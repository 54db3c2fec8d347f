"""What a writer inserts into, described without SQLAlchemy: one entry per table a `Batch` fills.

The writer (its process, or its thread) writes batches through the database driver alone
(`sql_batch.py`), so it never loads SQLAlchemy to insert rows. Its INSERT statements are made
from these descriptions, never written by hand: the columns of a statement are the keys of the
rows `store/` builds, checked against the description's columns. `schema.py` holds the same
tables for SQLAlchemy (migrations, reads); a test checks that both agree, column for column.

Adding a table a batch fills: a `Batch` field of the table's name, a row builder, and a
`TableDescription` here, in `APPENDED` (or `RUNS`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class TableDescription:
    """One table a writer inserts rows into.

    Attributes:
        name: the table, and the `Batch` field that holds its new rows.
        columns: every column a row may set; an autoincrement `id` is not among them.
        replay_key: how rows of a replayed batch already stored are found: by a range of this
            column ("timestamp"), or by the values of it ("task_run_id"); None for run
            tables, whose rows already there are kept as they are (ON CONFLICT DO NOTHING).
    """

    name: str
    columns: tuple[str, ...]
    replay_key: str | None = None

    def insert_sql(
        self, keys: Iterable[str], *, mark: str, quote: Callable[[str], str] = str,
        ignore_existing: bool = False,
    ) -> str:
        """The INSERT statement for rows with these keys (in this order).

        Args:
            keys: the rows' keys, every one a column of this table.
            mark: the driver's placeholder ("?" for sqlite3, "%s" for psycopg).
            quote: quotes an identifier for the database, if it needs it.
            ignore_existing: rows whose key is taken are left out (ON CONFLICT DO NOTHING).

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
        return (
            f"INSERT INTO {quote(self.name)} ({', '.join(quote(key) for key in names)}) "
            f"VALUES ({', '.join(mark for _ in names)})"
            + (" ON CONFLICT DO NOTHING" if ignore_existing else "")
        )


_RUN = ("id", "name", "parameters", "tags", "created", "state_type", "state_name",
        "state_message", "state_timestamp", "start_time", "end_time", "run_count", "result",
        "history")

FLOW_RUNS = TableDescription("flow_runs", (
    *_RUN, "flow_name", "flow_version", "parent_flow_run_id", "parent_task_run_id",
    "heartbeat", "identity", "entrypoint",
))
TASK_RUNS = TableDescription("task_runs", (
    *_RUN, "task_name", "task_key", "flow_run_id", "identity",
))
LOGS = TableDescription(
    "logs", ("flow_run_id", "task_run_id", "logger", "level", "message", "timestamp"),
    replay_key="timestamp",
)
DEPENDENCIES = TableDescription(
    "dependencies", ("task_run_id", "upstream_run_id", "parameter"), replay_key="task_run_id",
)
EVENTS = TableDescription(
    "events", ("name", "resource", "related", "payload", "flow_run_id", "task_run_id",
               "timestamp"),
    replay_key="timestamp",
)
ASSET_EVENTS = TableDescription(
    "asset_events", ("asset_key", "kind", "timestamp", "flow_run_id", "task_run_id",
                     "materialized_by", "upstream", "metadata", "properties"),
    replay_key="timestamp",
)
ASSET_EDGES = TableDescription(
    "asset_edges", ("upstream_key", "downstream_key", "timestamp", "flow_run_id",
                    "task_run_id"),
    replay_key="timestamp",
)

# Runs come first in a batch's transaction; their updates next; then the appended rows.
RUNS = (FLOW_RUNS, TASK_RUNS)
APPENDED = (LOGS, DEPENDENCIES, EVENTS, ASSET_EVENTS, ASSET_EDGES)
RUN_TABLES = {"flow": FLOW_RUNS, "task": TASK_RUNS}  # a run update's `kind` -> its table
