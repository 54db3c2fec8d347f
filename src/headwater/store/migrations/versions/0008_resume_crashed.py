"""Automatic recovery: how often a deployment's crashed runs are resumed, and how often each
run was.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as table:
        table.add_column(sa.Column("resume_crashed", sa.Integer))
    with op.batch_alter_table("deployment_runs") as table:
        table.add_column(sa.Column("resumes", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("deployment_runs") as table:
        table.drop_column("resumes")
    with op.batch_alter_table("deployments") as table:
        table.drop_column("resume_crashed")
