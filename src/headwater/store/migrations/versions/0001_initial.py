"""The first schema: flow runs and task runs (with their state history), logs, dependencies,
events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _run_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("state_type", sa.String(20)),
        sa.Column("state_name", sa.String(64)),
        sa.Column("state_message", sa.Text),
        sa.Column("state_timestamp", sa.Float),
        sa.Column("start_time", sa.Float),
        sa.Column("end_time", sa.Float),
        sa.Column("run_count", sa.Integer, nullable=False),
        sa.Column("result", sa.Text),
        sa.Column("history", sa.Text, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "flow_runs",
        *_run_columns(),
        sa.Column("flow_name", sa.String(255), nullable=False),
        sa.Column("flow_version", sa.String(255)),
        sa.Column("parent_flow_run_id", sa.String(36)),
        sa.Column("parent_task_run_id", sa.String(36)),
        sa.Column("heartbeat", sa.Float),
    )
    op.create_index("ix_flow_runs_created", "flow_runs", ["created"])
    op.create_index("ix_flow_runs_flow_name", "flow_runs", ["flow_name"])
    op.create_index("ix_flow_runs_state_type", "flow_runs", ["state_type"])
    op.create_index("ix_flow_runs_parent", "flow_runs", ["parent_flow_run_id"])
    op.create_table(
        "task_runs",
        *_run_columns(),
        sa.Column("task_name", sa.String(255), nullable=False),
        sa.Column("task_key", sa.String(255), nullable=False),
        sa.Column("flow_run_id", sa.String(36)),
    )
    op.create_index("ix_task_runs_flow_run_id", "task_runs", ["flow_run_id"])
    op.create_index("ix_task_runs_created", "task_runs", ["created"])
    op.create_table(
        "logs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow_run_id", sa.String(36)),
        sa.Column("task_run_id", sa.String(36)),
        sa.Column("logger", sa.String(255), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
    )
    op.create_index("ix_logs_flow_run_id", "logs", ["flow_run_id"])
    op.create_index("ix_logs_task_run_id", "logs", ["task_run_id"])
    op.create_table(
        "dependencies",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_run_id", sa.String(36), nullable=False),
        sa.Column("upstream_run_id", sa.String(36), nullable=False),
        sa.Column("parameter", sa.String(255)),
    )
    op.create_index("ix_dependencies_task_run_id", "dependencies", ["task_run_id"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("resource", sa.Text, nullable=False),
        sa.Column("related", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("flow_run_id", sa.String(36)),
        sa.Column("task_run_id", sa.String(36)),
        sa.Column("timestamp", sa.Float, nullable=False),
    )
    op.create_index("ix_events_flow_run_id", "events", ["flow_run_id"])


def downgrade() -> None:
    for table in ("events", "dependencies", "logs", "task_runs", "flow_runs"):
        op.drop_table(table)
