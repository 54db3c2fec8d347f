"""Asset history: `asset_events` (asset events by key) and `asset_edges` (lineage links), filled
from the asset events already stored in `events`.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from headwater.store.assets import EVENT_KINDS, asset_rows

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asset_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("asset_key", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
        sa.Column("flow_run_id", sa.String(36)),
        sa.Column("task_run_id", sa.String(36)),
        sa.Column("materialized_by", sa.String(255)),
        sa.Column("upstream", sa.Text, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("properties", sa.Text, nullable=False),
    )
    op.create_index("ix_asset_events_key_timestamp", "asset_events", ["asset_key", "timestamp"])
    op.create_index("ix_asset_events_flow_run_id", "asset_events", ["flow_run_id"])
    op.create_index("ix_asset_events_task_run_id", "asset_events", ["task_run_id"])
    op.create_table(
        "asset_edges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("upstream_key", sa.String(512), nullable=False),
        sa.Column("downstream_key", sa.String(512), nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
        sa.Column("flow_run_id", sa.String(36)),
        sa.Column("task_run_id", sa.String(36)),
    )
    op.create_index("ix_asset_edges_upstream", "asset_edges", ["upstream_key", "downstream_key"])
    op.create_index("ix_asset_edges_downstream", "asset_edges",
                    ["downstream_key", "upstream_key"])
    op.create_index("ix_asset_edges_flow_run_id", "asset_edges", ["flow_run_id"])
    op.create_index("ix_asset_edges_task_run_id", "asset_edges", ["task_run_id"])
    _backfill()


def _backfill() -> None:
    """Asset events recorded before this revision get their asset rows now, oldest first."""
    conn = op.get_bind()
    events = sa.table("events", *(sa.column(name) for name in (
        "id", "name", "resource", "related", "payload", "flow_run_id", "task_run_id",
        "timestamp")))
    query = (
        sa.select(events).where(events.c.name.in_(list(EVENT_KINDS))).order_by(events.c.id)
    )
    assets, edges = [], []
    for row in conn.execute(query).mappings():
        try:
            resource, related = json.loads(row["resource"]), json.loads(row["related"])
        except ValueError:
            continue
        asset, links = asset_rows(
            row["name"], resource, related if isinstance(related, list) else [],
            row["payload"], row["flow_run_id"], row["task_run_id"], row["timestamp"],
        )
        if asset is not None:
            assets.append(asset)
            edges.extend(links)
    if assets:
        op.bulk_insert(sa.table("asset_events", *(sa.column(k) for k in assets[0])), assets)
    if edges:
        op.bulk_insert(sa.table("asset_edges", *(sa.column(k) for k in edges[0])), edges)


def downgrade() -> None:
    op.drop_table("asset_edges")
    op.drop_table("asset_events")
