"""Indexes for the server's pages: keyset paging of flow runs by parent, flow and state; task
runs of one flow run by start time (the timeline) and by last change (live updates).

Revision ID: 0005
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_flow_runs_parent_created", "flow_runs", ["parent_flow_run_id", "created"]),
    ("ix_flow_runs_flow_name_created", "flow_runs", ["flow_name", "created"]),
    ("ix_flow_runs_state_type_created", "flow_runs", ["state_type", "created"]),
    ("ix_flow_runs_state_timestamp", "flow_runs", ["state_timestamp"]),
    ("ix_task_runs_flow_start", "task_runs", ["flow_run_id", "start_time"]),
    ("ix_task_runs_flow_state_timestamp", "task_runs", ["flow_run_id", "state_timestamp"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
