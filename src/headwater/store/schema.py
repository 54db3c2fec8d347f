"""The run store's tables, in SQLAlchemy 2 Core: one definition for SQLite and PostgreSQL.

Times are float seconds since the epoch (portable, cheap to compare); ids are UUID text;
parameters, tags, results and event payloads are JSON text, encoded as records are emitted.
A run's latest state is in the `state_*` columns of its row; every state it went through is a
row of `states` (append-only, revision 0009; before it, a text column `history` of the run).
There are no foreign keys: a batch may carry a task run before its flow run reaches another
process's view, and `prune` deletes children explicitly. Alembic migrations in `migrations/`
create these tables; `HEAD_REVISION` is the newest one, checked cheaply on every open.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

HEAD_REVISION = "0010"

metadata = MetaData()


def _run_columns() -> list[Column]:  # type: ignore[type-arg]
    return [
        Column("id", String(36), primary_key=True),
        Column("name", String(255), nullable=False),
        Column("parameters", Text, nullable=False),
        Column("tags", Text, nullable=False),
        Column("created", Float, nullable=False),
        Column("state_type", String(20)),
        Column("state_name", String(64)),
        Column("state_message", Text),
        Column("state_timestamp", Float),
        Column("start_time", Float),
        Column("end_time", Float),
        Column("run_count", Integer, nullable=False),
        Column("result", Text),
    ]


flow_runs = Table(
    "flow_runs",
    metadata,
    *_run_columns(),
    Column("flow_name", String(255), nullable=False),
    Column("flow_version", String(255)),
    Column("parent_flow_run_id", String(36)),
    Column("parent_task_run_id", String(36)),
    Column("heartbeat", Float),
    # Added by revision 0007, for resuming: a subflow's place in its parent, and where the
    # flow's code lives ("file.py:function").
    Column("identity", String(300)),
    Column("entrypoint", Text),
    Index("ix_flow_runs_created", "created"),
    Index("ix_flow_runs_flow_name", "flow_name"),
    Index("ix_flow_runs_state_type", "state_type"),
    Index("ix_flow_runs_parent", "parent_flow_run_id"),
    # Added by revision 0005, for the server's pages (keyset paging, live updates).
    Index("ix_flow_runs_parent_created", "parent_flow_run_id", "created"),
    Index("ix_flow_runs_flow_name_created", "flow_name", "created"),
    Index("ix_flow_runs_state_type_created", "state_type", "created"),
    Index("ix_flow_runs_state_timestamp", "state_timestamp"),
)

task_runs = Table(
    "task_runs",
    metadata,
    *_run_columns(),
    Column("task_name", String(255), nullable=False),
    Column("task_key", String(255), nullable=False),
    Column("flow_run_id", String(36)),
    Column("identity", String(300)),  # revision 0007: "task_key#n" or "task_key#n.i"
    Index("ix_task_runs_created", "created"),
    # Added by revision 0005: the timeline of one flow run, and its live updates.
    Index("ix_task_runs_flow_start", "flow_run_id", "start_time"),
    Index("ix_task_runs_flow_state_timestamp", "flow_run_id", "state_timestamp"),
    # Revision 0010: a flow run's task runs in creation order (it replaced the index of
    # flow_run_id alone).
    Index("ix_task_runs_flow_created", "flow_run_id", "created"),
)

logs = Table(
    "logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow_run_id", String(36)),
    Column("task_run_id", String(36)),
    Column("logger", String(255), nullable=False),
    Column("level", Integer, nullable=False),
    Column("message", Text, nullable=False),
    Column("timestamp", Float, nullable=False),
    Index("ix_logs_task_run_id", "task_run_id"),
    # Revision 0010: a flow run's lines by id (it replaced the index of flow_run_id alone).
    Index("ix_logs_flow_run_id_id", "flow_run_id", "id"),
)

dependencies = Table(
    "dependencies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_run_id", String(36), nullable=False),
    Column("upstream_run_id", String(36), nullable=False),
    Column("parameter", String(255)),
    Index("ix_dependencies_task_run_id", "task_run_id"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("resource", Text, nullable=False),
    Column("related", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("flow_run_id", String(36)),
    Column("task_run_id", String(36)),
    Column("timestamp", Float, nullable=False),
    Index("ix_events_flow_run_id", "flow_run_id"),
)

# One row per state a flow or task run entered, in the order they were stored (`id`). A state
# is named by (run, timestamp, type, run count, seq): a replayed batch inserts nothing twice
# (ON CONFLICT DO NOTHING). `seq` tells apart transitions that agree on all the rest within
# one batch (a stopped clock). A run's states are few, found by the key's first column and
# sorted by `id`. Added by revision 0009, filled from the runs' `history` text it replaced.
states = Table(
    "states",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(36), nullable=False),
    Column("kind", String(4), nullable=False),  # flow | task
    Column("type", String(20), nullable=False),
    Column("name", String(64), nullable=False),
    Column("message", Text),
    Column("timestamp", Float, nullable=False),
    Column("run_count", Integer, nullable=False),
    Column("data", Text),  # a final state's result, JSON text (as `result` of its run)
    Column("seq", Integer, nullable=False),
    UniqueConstraint("run_id", "timestamp", "type", "run_count", "seq",
                     name="uq_states_transition"),
)

# One row per asset event, by asset key (the event itself is in `events` too): see
# `store/assets.py`. Added by revision 0002.
asset_events = Table(
    "asset_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("asset_key", String(512), nullable=False),
    Column("kind", String(20), nullable=False),  # succeeded | failed | referenced
    Column("timestamp", Float, nullable=False),
    Column("flow_run_id", String(36)),
    Column("task_run_id", String(36)),
    Column("materialized_by", String(255)),
    Column("upstream", Text, nullable=False),  # JSON list of keys
    Column("metadata", Text, nullable=False),
    Column("properties", Text, nullable=False),
    Index("ix_asset_events_key_timestamp", "asset_key", "timestamp"),
    Index("ix_asset_events_flow_run_id", "flow_run_id"),
    Index("ix_asset_events_task_run_id", "task_run_id"),
)

# upstream_key -> downstream_key, one row per upstream asset of a succeeded materialization.
asset_edges = Table(
    "asset_edges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("upstream_key", String(512), nullable=False),
    Column("downstream_key", String(512), nullable=False),
    Column("timestamp", Float, nullable=False),
    Column("flow_run_id", String(36)),
    Column("task_run_id", String(36)),
    Index("ix_asset_edges_upstream", "upstream_key", "downstream_key"),
    Index("ix_asset_edges_downstream", "downstream_key", "upstream_key"),
    Index("ix_asset_edges_flow_run_id", "flow_run_id"),
    Index("ix_asset_edges_task_run_id", "task_run_id"),
)

# A request to stop a flow run (and what it started), written by `headwater runs cancel`, the UI
# or a serve process; read by the writer of the process running it. Added by revision 0003.
run_control = Table(
    "run_control",
    metadata,
    Column("flow_run_id", String(36), primary_key=True),
    Column("action", String(20), nullable=False),  # cancel
    Column("requested_at", Float, nullable=False),
    Column("requested_by", String(255)),
)

# A deployment: a flow, where its code is, its schedules and default parameters, registered by
# `flow.serve` / `serve(...)` (see `headwater.deployments`). Added by revision 0006.
deployments = Table(
    "deployments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("flow_name", String(255), nullable=False),
    Column("entrypoint", Text, nullable=False),  # /abs/path/file.py:function
    Column("working_dir", Text),
    Column("schedules", Text, nullable=False),  # JSON list of Schedule.to_json()
    Column("parameters", Text, nullable=False),  # JSON object
    Column("tags", Text, nullable=False),  # JSON list
    Column("description", Text),
    Column("version", String(255)),
    Column("paused", Integer, nullable=False),  # 0 | 1
    Column("concurrency_limit", Integer),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("schedule_from", Float, nullable=False),  # ticks after this time (set on resume)
    Column("last_tick", Float),  # the newest tick made into a run (never goes back)
    Column("last_served", Float),  # the newest sign of life of a serve process serving it
    Column("served_by", String(255)),
    Column("resume_crashed", Integer),  # revision 0008: crashed runs resumed up to this often
    UniqueConstraint("flow_name", "name", name="uq_deployments_flow_name_name"),
)

# One row per run of a deployment: a schedule's tick (unique per deployment and tick, which is
# what makes ticks exactly once) or a run asked for on demand (tick NULL). Its flow run is a
# row of `flow_runs` from the start, state Scheduled. Added by revision 0006.
deployment_runs = Table(
    "deployment_runs",
    metadata,
    Column("flow_run_id", String(36), primary_key=True),
    Column("deployment_id", String(36), nullable=False),
    Column("tick", Float),  # the schedule's time; NULL for a run on demand
    Column("scheduled_time", Float, nullable=False),  # when it is due
    Column("status", String(20), nullable=False),  # scheduled | claimed | missed | cancelled
    Column("claimed_by", String(255)),
    Column("claimed_at", Float),
    Column("created", Float, nullable=False),
    Column("resumes", Integer),  # revision 0008: times it was resumed after crashing
    UniqueConstraint("deployment_id", "tick", name="uq_deployment_runs_tick"),
    Index("ix_deployment_runs_due", "status", "scheduled_time"),
)

# Children first: the order `reset` and `prune` delete in.
ALL_TABLES = (deployment_runs, deployments, run_control, asset_edges, asset_events, events,
              dependencies, logs, states, task_runs, flow_runs)
TABLES = {table.name: table for table in ALL_TABLES}
