"""Writing a batch twice stores it once: what makes a replayed batch harmless.

A writer cannot always know whether a batch it sent was committed: a writer process killed
between its commit and its acknowledgement, or a connection dropped during COMMIT, leaves the
batch in doubt, and the writer sends it again. Runs are inserted with `ON CONFLICT DO NOTHING`
always (cheap, and a run row already there is newer than the replayed one), and so are state
rows (each is named by its run, timestamp, type, run count and seq: `store/states.py`). For a
batch marked `replay`, the rest is filtered here:

- a run update that applies a state is skipped when that state is stored already (state rows
  are written after the updates of their batch, so a stored one means its update was applied);
- log, dependency, event and asset rows already stored with the same values are left out,
  counted, so that rows legitimately repeated within a batch are kept as often as they occur.

Used by the SQL store (`unseen_rows`, `update_guard`) and the memory store (`unseen_in`,
`already_applied`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from headwater.store.batch import Row
from headwater.store.states import latest_key

if TYPE_CHECKING:  # the memory store uses this module without SQLAlchemy
    from sqlalchemy import ColumnElement, Connection

_CHUNK = 500


def _key(row: Row, columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row.get(column) for column in columns)


def unseen_in(rows: list[Row], stored: Iterable[Row]) -> list[Row]:
    """`rows` minus those already in `stored` (compared on the rows' own keys but `id`)."""
    if not rows:
        return rows
    columns = [key for key in rows[0] if key != "id"]
    counts = Counter(_key(row, columns) for row in stored)
    return left_out(rows, columns, counts)


def left_out(rows: list[Row], columns: Sequence[str], counts: Counter[Any]) -> list[Row]:
    kept = []
    for row in rows:
        key = _key(row, columns)
        if counts.get(key, 0) > 0:
            counts[key] -= 1
            continue
        kept.append(row)
    return kept


def unseen_rows(conn: Connection, table: Any, rows: list[Row]) -> list[Row]:
    """The rows of a replayed batch that `table` does not hold yet.

    Args:
        conn: the batch's connection (inside its transaction).
        table: logs, dependencies, events, asset_events or asset_edges.
        rows: rows of one shape, as the batch builder makes them.

    Returns:
        The rows to insert, in their order.
    """
    from sqlalchemy import select

    if not rows:
        return rows
    columns = [key for key in rows[0] if key != "id"]
    selected = [table.c[column] for column in columns]
    counts: Counter[Any] = Counter()
    if "timestamp" in table.c:
        stamps = [row["timestamp"] for row in rows]
        query = select(*selected).where(table.c.timestamp.between(min(stamps), max(stamps)))
        counts.update(tuple(found) for found in conn.execute(query))
    else:  # dependencies: by the task runs they belong to
        ids = sorted({row["task_run_id"] for row in rows})
        for start in range(0, len(ids), _CHUNK):
            query = select(*selected).where(
                table.c.task_run_id.in_(ids[start : start + _CHUNK]))
            counts.update(tuple(found) for found in conn.execute(query))
    return left_out(rows, columns, counts)


def update_guard(states: Any, run_id: Any, update_keys: Sequence[str]) -> ColumnElement[bool]:
    """A condition true when the state a run update applies is not stored yet.

    Args:
        states: the `states` table.
        run_id: the run's id (a bound parameter).
        update_keys: the update's columns; `state_type`, `state_timestamp` and `run_count` are
            bound as `b_<column>`.
    """
    from sqlalchemy import bindparam, exists

    assert {"state_type", "state_timestamp", "run_count"} <= set(update_keys)
    return ~exists().where(
        states.c.run_id == run_id,
        states.c.timestamp == bindparam("b_state_timestamp"),
        states.c.type == bindparam("b_state_type"),
        states.c.run_count == bindparam("b_run_count"),
    )


def already_applied(update: Row, stored_keys: set[tuple[Any, ...]]) -> bool:
    """Whether the memory store already went through this run update: the state it applies is
    stored (`stored_keys` holds (run id, timestamp, type, run count) of every stored state)."""
    key = latest_key(update)
    return key is not None and key in stored_keys
