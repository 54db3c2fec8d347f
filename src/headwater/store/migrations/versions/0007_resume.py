"""Resume: a task run's identity in its flow run, a subflow's in its parent, and the flow's
entrypoint, so a failed or crashed run can be run again from where it stopped.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_runs") as table:
        table.add_column(sa.Column("identity", sa.String(300)))
    with op.batch_alter_table("flow_runs") as table:
        table.add_column(sa.Column("identity", sa.String(300)))
        table.add_column(sa.Column("entrypoint", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("flow_runs") as table:
        table.drop_column("entrypoint")
        table.drop_column("identity")
    with op.batch_alter_table("task_runs") as table:
        table.drop_column("identity")
