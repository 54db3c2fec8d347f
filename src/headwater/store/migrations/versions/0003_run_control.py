"""Run control: `run_control`, one row per flow run someone asked to stop.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_control",
        sa.Column("flow_run_id", sa.String(36), primary_key=True),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("requested_at", sa.Float, nullable=False),
        sa.Column("requested_by", sa.String(255)),
    )


def downgrade() -> None:
    op.drop_table("run_control")
