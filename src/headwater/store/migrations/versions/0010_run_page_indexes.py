"""Indexes for the page of one flow run at scale: its task runs in creation order (the task
runs tab; before, a flow run's every task run was sorted to show the first hundred), and its
log lines by id (the newest lines, and the live tail's newest id: on PostgreSQL an index of the
flow run alone made both read every line of the run, or walk the whole log table backwards).
Each replaces the index of the flow run's id alone, which its first column serves as well.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# (table, the index replaced, the index replacing it, its columns)
REPLACED = (
    ("task_runs", "ix_task_runs_flow_run_id", "ix_task_runs_flow_created",
     ["flow_run_id", "created"]),
    ("logs", "ix_logs_flow_run_id", "ix_logs_flow_run_id_id", ["flow_run_id", "id"]),
)


def upgrade() -> None:
    for table, old, new, columns in REPLACED:
        op.create_index(new, table, columns)
        op.drop_index(old, table_name=table)


def downgrade() -> None:
    for table, old, new, _ in REPLACED:
        op.create_index(old, table, ["flow_run_id"])
        op.drop_index(new, table_name=table)
