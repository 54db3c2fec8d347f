"""Deployments: `deployments` (what serve processes serve) and `deployment_runs` (one row per
tick of a schedule, or per run asked for on demand, unique per deployment and tick).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("flow_name", sa.String(255), nullable=False),
        sa.Column("entrypoint", sa.Text, nullable=False),
        sa.Column("working_dir", sa.Text),
        sa.Column("schedules", sa.Text, nullable=False),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("version", sa.String(255)),
        sa.Column("paused", sa.Integer, nullable=False),
        sa.Column("concurrency_limit", sa.Integer),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
        sa.Column("schedule_from", sa.Float, nullable=False),
        sa.Column("last_tick", sa.Float),
        sa.Column("last_served", sa.Float),
        sa.Column("served_by", sa.String(255)),
        sa.UniqueConstraint("flow_name", "name", name="uq_deployments_flow_name_name"),
    )
    op.create_table(
        "deployment_runs",
        sa.Column("flow_run_id", sa.String(36), primary_key=True),
        sa.Column("deployment_id", sa.String(36), nullable=False),
        sa.Column("tick", sa.Float),
        sa.Column("scheduled_time", sa.Float, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("claimed_by", sa.String(255)),
        sa.Column("claimed_at", sa.Float),
        sa.Column("created", sa.Float, nullable=False),
        sa.UniqueConstraint("deployment_id", "tick", name="uq_deployment_runs_tick"),
    )
    op.create_index("ix_deployment_runs_due", "deployment_runs", ["status", "scheduled_time"])


def downgrade() -> None:
    op.drop_index("ix_deployment_runs_due", table_name="deployment_runs")
    op.drop_table("deployment_runs")
    op.drop_table("deployments")
