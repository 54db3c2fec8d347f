"""State history as rows: `states`, one row per state a run entered, filled from the `history`
text of every flow and task run, which it replaces (the column is dropped).

Each `history` line is a JSON array `[type, name, message, timestamp, run_count, data]`; lines
become rows in their order, so the ids of a run's rows keep it. A line that is not such an
array is skipped, as readers skipped it before. Transitions that agree on type, timestamp and
run count within one run get `seq` 0, 1, ...: every line stays a row.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_RUNS_PER_STEP = 1000
_RUN_TABLES = (("flow_runs", "flow"), ("task_runs", "task"))
_STATE_COLUMNS = ("run_id", "kind", "type", "name", "message", "timestamp", "run_count", "data",
                  "seq")


def upgrade() -> None:
    op.create_table(
        "states",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(4), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("timestamp", sa.Float, nullable=False),
        sa.Column("run_count", sa.Integer, nullable=False),
        sa.Column("data", sa.Text),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.UniqueConstraint("run_id", "timestamp", "type", "run_count", "seq",
                            name="uq_states_transition"),
    )
    conn = op.get_bind()
    states = sa.table("states", *(sa.column(name) for name in _STATE_COLUMNS))
    for table_name, kind in _RUN_TABLES:
        for rows in _history_rows(conn, table_name, kind):
            conn.execute(states.insert(), rows)
    for table_name, _ in _RUN_TABLES:
        _drop_history(conn, table_name)


def _history_rows(conn: Any, table_name: str, kind: str) -> Iterator[list[dict[str, Any]]]:
    """The state rows of a runs table's `history` text, a step of runs at a time (by id)."""
    table = sa.table(table_name, sa.column("id"), sa.column("history"))
    last = ""
    while True:
        found = list(conn.execute(
            sa.select(table.c.id, table.c.history)
            .where(table.c.id > last).order_by(table.c.id).limit(_RUNS_PER_STEP)))
        if not found:
            return
        last = found[-1][0]
        rows = [row for run_id, history in found for row in _parse(run_id, kind, history)]
        if rows:
            yield rows


def _parse(run_id: str, kind: str, history: str | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], int] = {}
    for line in (history or "").splitlines():
        try:
            type_, name, message, timestamp, run_count, data = json.loads(line)
            key = (float(timestamp), str(type_), int(run_count or 0))
        except (ValueError, TypeError):
            continue
        seq = seen[key] = seen.get(key, -1) + 1
        rows.append({
            "run_id": run_id, "kind": kind, "type": key[1], "name": str(name),
            "message": message, "timestamp": key[0], "run_count": key[2], "data": data,
            "seq": seq,
        })
    return rows


def _drop_history(conn: Any, table_name: str) -> None:
    if conn.dialect.name == "sqlite" and sqlite3.sqlite_version_info >= (3, 35, 0):
        # In place: a batch operation would copy the whole table to drop one column.
        conn.exec_driver_sql(f"ALTER TABLE {table_name} DROP COLUMN history")
        return
    with op.batch_alter_table(table_name) as table:
        table.drop_column("history")


def downgrade() -> None:
    conn = op.get_bind()
    states = sa.table("states", sa.column("id"), *(sa.column(name) for name in _STATE_COLUMNS))
    for table_name, kind in _RUN_TABLES:
        with op.batch_alter_table(table_name) as table:
            table.add_column(sa.Column("history", sa.Text, nullable=False, server_default=""))
        runs = sa.table(table_name, sa.column("id"), sa.column("history"))
        lines: dict[str, str] = {}
        query = (sa.select(states.c.run_id, states.c.type, states.c.name, states.c.message,
                           states.c.timestamp, states.c.run_count, states.c.data)
                 .where(states.c.kind == kind).order_by(states.c.id))
        for run_id, *values in conn.execute(query):
            lines[run_id] = lines.get(run_id, "") + json.dumps(values) + "\n"
        if lines:
            conn.execute(
                runs.update().where(runs.c.id == sa.bindparam("b_id"))
                .values(history=sa.bindparam("b_history")),
                [{"b_id": run_id, "b_history": text} for run_id, text in lines.items()],
            )
    op.drop_table("states")
