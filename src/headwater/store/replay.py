"""Writing a batch twice stores it once: what makes a replayed batch harmless.

A writer cannot always know whether a batch it sent was committed: a writer process killed
between its commit and its acknowledgement, or a connection dropped during COMMIT, leaves the
batch in doubt, and the writer sends it again. Runs are inserted with `ON CONFLICT DO NOTHING`
always (cheap, and a run row already there is newer than the replayed one). For a batch marked
`replay`, the rest is filtered here:

- a run update is skipped when the run's history already holds the update's history lines
  (each line carries the state's timestamp and run count, so it names one transition);
- log, dependency, event and asset rows already stored with the same values are left out,
  counted, so that rows legitimately repeated within a batch are kept as often as they occur.

Used by the SQL store (`unseen_rows`, `update_guard`) and the memory store (`unseen_in`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from headwater.store.base import Row

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
    return _left_out(rows, columns, counts)


def _left_out(rows: list[Row], columns: Sequence[str], counts: Counter[Any]) -> list[Row]:
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
    return _left_out(rows, columns, counts)


def update_guard(conn: Connection, history: Any, lines: Any) -> ColumnElement[bool]:
    """A condition true when the run's `history` does not hold `lines` yet."""
    from sqlalchemy import func

    if conn.dialect.name == "sqlite":
        return func.instr(history, lines) == 0
    return func.strpos(history, lines) == 0


def already_applied(run: Row, update: Row) -> bool:
    """Whether a run kept in memory already went through this update (its history lines)."""
    lines = update.get("history")
    return bool(lines) and lines in (run.get("history") or "")
