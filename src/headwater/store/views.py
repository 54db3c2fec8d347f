"""What readers of the run store get: frozen views of stored rows, and the flow run filter.

Users see these dataclasses, never rows; `rows.py` makes them from rows of any store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class FlowRunFilter:
    """Which flow runs `read_flow_runs` returns, newest first.

    Attributes:
        flow_name: only runs of this flow.
        state: only runs whose state type or name matches, case-insensitively ("failed").
        parent_flow_run_id: only subflow runs of this parent.
        ids: only these run ids, or ids starting with one of these prefixes.
        created_before: only runs created before this time (seconds since the epoch).
        limit: at most this many runs (None: all).
        state_types: only runs whose state type is one of these, upper case ("FAILED");
            unlike `state`, an indexed lookup.
        tags: only runs carrying every one of these tags.
        created_after: only runs created at or after this time.
        roots_only: only runs that are not subflows of another run.
        after: a cursor: only runs older than this `(created, id)` of the last run of the
            previous page, in the newest-first order.
    """

    flow_name: str | None = None
    state: str | None = None
    parent_flow_run_id: UUID | None = None
    ids: tuple[str, ...] = ()
    created_before: float | None = None
    limit: int | None = 20
    state_types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    created_after: float | None = None
    roots_only: bool = False
    after: tuple[float, str] | None = None


@dataclass(frozen=True)
class _RunView:
    id: UUID
    name: str
    parameters: dict[str, Any]
    tags: tuple[str, ...]
    created: float
    state_type: str | None
    state_name: str | None
    state_message: str | None
    state_timestamp: float | None
    start_time: float | None
    end_time: float | None
    run_count: int
    result: str | None

    @property
    def duration(self) -> float | None:
        """Seconds from the first Running state to the final state (None until both exist)."""
        if self.start_time is None or self.end_time is None:
            return None
        return max(0.0, self.end_time - self.start_time)


@dataclass(frozen=True)
class FlowRunView(_RunView):
    """One stored flow run. `result` is the final state's data as JSON text (or a repr)."""

    flow_name: str = ""
    flow_version: str | None = None
    parent_flow_run_id: UUID | None = None
    parent_task_run_id: UUID | None = None
    heartbeat: float | None = None
    identity: str | None = None
    entrypoint: str | None = None


@dataclass(frozen=True)
class TaskRunView(_RunView):
    """One stored task run."""

    task_name: str = ""
    task_key: str = ""
    flow_run_id: UUID | None = None
    identity: str | None = None


@dataclass(frozen=True)
class StateView:
    """One entry of a run's state history; `id` grows with insertion (a cursor for paging)."""

    run_id: UUID
    kind: str
    type: str
    name: str
    message: str | None
    timestamp: float
    run_count: int
    data: str | None
    id: int = 0


@dataclass(frozen=True)
class LogView:
    """One stored log line; `id` grows with insertion, so `read_logs(after_id=...)` can follow."""

    id: int
    flow_run_id: UUID | None
    task_run_id: UUID | None
    logger: str
    level: int
    message: str
    timestamp: float


@dataclass(frozen=True)
class DependencyView:
    """Task run `task_run_id` used (or waited for) run `upstream_run_id`."""

    task_run_id: UUID
    upstream_run_id: UUID
    parameter: str | None


@dataclass(frozen=True)
class EventView:
    """One stored event, e.g. an asset materialization."""

    name: str
    resource: dict[str, Any]
    related: list[dict[str, Any]]
    payload: dict[str, Any]
    flow_run_id: UUID | None
    task_run_id: UUID | None
    timestamp: float


@dataclass(frozen=True)
class AssetView:
    """One asset the store has seen: materialized by a task run, or only referenced as an
    upstream of one.

    Attributes:
        key: the asset's key, e.g. `s3://bucket/data.csv`.
        properties: the newest name, description, url and owners given for it (keys without
            the `headwater.asset.` prefix); empty when none were given.
        latest_status: "succeeded" or "failed" for the newest materialization; None when the
            asset was only ever referenced.
        latest_time: when the newest materialization happened (None: never materialized).
        materializations: how many materializations (succeeded or failed) are stored.
        last_seen: the newest event of any kind about the asset, referenced included.
    """

    key: str
    properties: dict[str, Any]
    latest_status: str | None
    latest_time: float | None
    materializations: int
    last_seen: float


@dataclass(frozen=True)
class AssetMaterializationView:
    """One materialization of an asset by a task run.

    Attributes:
        key: the asset materialized.
        status: "succeeded" or "failed".
        timestamp: when the task run finished (seconds since the epoch).
        metadata: what the task attached with `add_asset_metadata`.
        materialized_by: the tool named with `@materialize(by=...)`, if any.
        flow_run_id: the flow run the task ran in (None for a task run outside any flow).
        task_run_id: the task run that materialized it.
        upstream: keys of the assets it was built from, sorted.
    """

    key: str
    status: str
    timestamp: float
    metadata: dict[str, Any]
    materialized_by: str | None
    flow_run_id: UUID | None
    task_run_id: UUID | None
    upstream: tuple[str, ...]


@dataclass(frozen=True)
class AssetLineageView:
    """The assets around one asset, from the related-asset links of succeeded
    materializations (a failed materialization adds no link).

    Attributes:
        key: the asset asked about.
        depth: how many links were followed each way (None: all of them).
        upstream: keys `key` was built from, directly or within `depth` links, sorted.
        downstream: keys built from `key`, directly or within `depth` links, sorted.
        edges: every (upstream key, downstream key) link found on the way, sorted: enough
            to draw the graph.
    """

    key: str
    depth: int | None
    upstream: tuple[str, ...]
    downstream: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PruneResult:
    """What `prune` deleted (or, with `dry_run`, would delete).

    Attributes:
        flow_runs: flow runs deleted, with everything that belongs to them.
        task_runs: task runs deleted with them, and task runs that ran outside any flow.
        orphan_task_runs: task runs deleted because their flow run was already gone.
        kept_flow_runs: final flow runs old enough, kept because they belong to a run that
            is still running or waiting (a subflow of it, or its parent).
        flow_run_ids: with `dry_run`, the flow runs that would be deleted.
        orphan_rows: log, event and asset rows deleted because their run was already gone
            (not counted by a dry run).
    """

    flow_runs: int
    task_runs: int
    orphan_task_runs: int = 0
    kept_flow_runs: int = 0
    flow_run_ids: tuple[UUID, ...] = ()
    orphan_rows: int = 0


def to_uuid(value: Any) -> UUID | None:
    """A stored id as a UUID (None stays None)."""
    if value is None or isinstance(value, UUID):
        return value
    return UUID(str(value))


def decode_json(text: str | None, default: Any) -> Any:
    """Stored JSON text as Python values; `default` for NULL or unreadable text."""
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def state_matches(pattern: str, state_type: str | None, state_name: str | None) -> bool:
    """The `FlowRunFilter.state` rule: the type or the name, ignoring case."""
    wanted = pattern.strip().lower()
    return wanted in ((state_type or "").lower(), (state_name or "").lower())
