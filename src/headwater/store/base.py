"""The `RunStore` seam: durable run history, read and written through our own dataclasses.

Writers hand the store one `Batch` at a time (the store sink's background thread builds them);
readers (the CLI, the server, tests) get frozen views. Implementations: `MemoryStore`
(`memory.py`), `SqliteRunStore` and `PostgresRunStore` (`sql.py`). Every one passes
`tests/contracts/test_run_store_contract.py`.

A batch carries rows as plain dicts keyed by column name (see `schema.py`), with JSON already
encoded: the writer builds tens of thousands of them a second, and dicts go straight to
`executemany` without another copy. Everything a caller reads back is a frozen dataclass.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from headwater.store.deployments import DeploymentMethods
from headwater.store.pages import (
    DependencyGroupView,
    FlowSummaryView,
    LogFilter,
    TaskGroupView,
    TaskRunFilter,
)

Row = dict[str, Any]
FINAL_STATE_TYPES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


@dataclass(frozen=True)
class Batch:
    """Everything one writer transaction stores.

    Attributes:
        flow_runs: new flow runs (`flow_runs` columns), with their latest state folded into
            the `state_*` columns.
        task_runs: new task runs (`task_runs` columns), the same way.
        run_updates: changes to runs created by an earlier batch: `id`, `kind` ('flow'|'task')
            and any of `name`, `state_type`, `state_name`, `state_message`, `state_timestamp`,
            `start_time` (kept if already set), `end_time`, `run_count`, `result`.
        states: one `states` row per state entered, in order (see `store/states.py`); written
            after `run_updates`, so a replayed update can tell it was applied.
        logs: log rows. dependencies: dependency rows. events: event rows.
        asset_events: one row per asset event, also kept in `events` (see `store/assets.py`).
        asset_edges: one (upstream key, downstream key) row per related asset of a succeeded
            materialization: what `asset_lineage` walks.
        heartbeats: flow runs still running in the writing process.
        now: when the batch was built (seconds since the epoch); the heartbeat time.
        replay: the batch may have been stored already (a writer sends it again when it
            cannot know whether an earlier attempt committed): rows and states already
            there are left out (see `store/replay.py`).
    """

    flow_runs: list[Row] = field(default_factory=list)
    task_runs: list[Row] = field(default_factory=list)
    run_updates: list[Row] = field(default_factory=list)
    states: list[Row] = field(default_factory=list)
    logs: list[Row] = field(default_factory=list)
    dependencies: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    asset_events: list[Row] = field(default_factory=list)
    asset_edges: list[Row] = field(default_factory=list)
    heartbeats: tuple[str, ...] = ()
    now: float = 0.0
    replay: bool = False

    def __len__(self) -> int:
        return (
            len(self.flow_runs) + len(self.task_runs) + len(self.run_updates) + len(self.logs)
            + len(self.dependencies) + len(self.events)
        )

    def new_runs(self) -> list[tuple[str, list[Row]]]:
        """(table, rows) of the runs to insert first: `ON CONFLICT DO NOTHING` (a run row
        already there is newer). `run_updates` are applied after them."""
        return [("flow_runs", self.flow_runs), ("task_runs", self.task_runs)]

    def appends(self) -> list[tuple[str, list[Row]]]:
        """(table, rows) to insert after `run_updates`, in this order. `states` rows go in
        with `ON CONFLICT DO NOTHING`; the others, in a replay, only if not stored yet (see
        `store/replay.py`)."""
        return [("states", self.states), ("logs", self.logs),
                ("dependencies", self.dependencies), ("events", self.events),
                ("asset_events", self.asset_events), ("asset_edges", self.asset_edges)]


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


class RunStore(DeploymentMethods):
    """Base class of every run store. All methods are thread-safe in every implementation.

    The methods for deployments and their runs are in `store/deployments.py`.
    """

    url: str = ""

    @property
    def display_url(self) -> str:
        """`url` without its password: the form every message shows."""
        from headwater._redact import redact_url

        return redact_url(self.url)

    def upgrade(self) -> None:
        """Create or migrate the schema to the newest version. Called on first use too.

        Raises:
            StoreUnavailableError: the database cannot be reached or written.
        """

    def write_batch(self, batch: Batch) -> None:
        """Store one batch in a single transaction: all of it, or (on error) none of it.

        Args:
            batch: rows to insert and updates to apply, in order.

        Raises:
            StoreUnavailableError: the database cannot be reached or written.
        """
        raise NotImplementedError

    def read_flow_runs(self, filter: FlowRunFilter | None = None) -> list[FlowRunView]:
        """Flow runs matching `filter`, newest first.

        Args:
            filter: what to select; None means the 20 newest runs.

        Returns:
            The matching runs.
        """
        raise NotImplementedError

    def read_flow_run(self, run_id: UUID | str) -> FlowRunView:
        """One flow run, by its full id or a unique prefix of it.

        Raises:
            RunNotFoundError: no flow run has that id, or the prefix matches several.
        """
        from headwater.errors import RunNotFoundError

        text = str(run_id).strip().lower()
        runs = self.read_flow_runs(FlowRunFilter(ids=(text,), limit=2))
        if len(runs) == 1:
            return runs[0]
        if not runs:
            raise RunNotFoundError(
                f"No flow run has the id {text!r} in {self.display_url or 'the run store'}. "
                f"List runs with `headwater runs ls`.",
                run_id=text,
            )
        raise RunNotFoundError(
            f"The id prefix {text!r} matches more than one flow run "
            f"({runs[0].id}, {runs[1].id}, ...). Give more characters.",
            run_id=text,
        )

    def read_task_runs(self, flow_run_id: UUID) -> list[TaskRunView]:
        """The task runs of one flow run, in creation order."""
        raise NotImplementedError

    def read_states(
        self, run_id: UUID, *, after_id: int = 0, limit: int | None = None
    ) -> list[StateView]:
        """The state history of one flow or task run, oldest first.

        Args:
            run_id: the flow or task run.
            after_id: only states with a larger `id` (the last `id` of the previous page).
            limit: at most this many states (None: all).
        """
        raise NotImplementedError

    def read_logs(
        self, flow_run_id: UUID, *, after_id: int = 0, limit: int | None = None
    ) -> list[LogView]:
        """Log lines of a flow run and its task runs, in insertion order.

        Args:
            flow_run_id: the flow run.
            after_id: only lines with a larger `id` (to follow a running flow).
            limit: at most this many lines.
        """
        raise NotImplementedError

    def read_dependencies(self, flow_run_id: UUID) -> list[DependencyView]:
        """The lineage of a flow run: which of its task runs used which upstream runs."""
        raise NotImplementedError

    def read_events(self, flow_run_id: UUID) -> list[EventView]:
        """Events emitted inside one flow run (or its task runs), oldest first."""
        raise NotImplementedError

    def read_assets(self, keys: Sequence[str] | None = None) -> list[AssetView]:
        """Every asset the store has seen (materialized or referenced), sorted by key.

        Args:
            keys: only these exact keys; None means all assets.

        Returns:
            One view per asset; a key with no stored events is left out.
        """
        raise NotImplementedError

    def read_asset_materializations(
        self, key: str, *, limit: int | None = 20
    ) -> list[AssetMaterializationView]:
        """The materializations of one asset, succeeded and failed, newest first.

        Args:
            key: the asset's exact key.
            limit: at most this many (None: all).

        Returns:
            The materializations; empty for an unknown key or one only ever referenced.
        """
        raise NotImplementedError

    def asset_lineage(self, key: str, *, depth: int | None = 1) -> AssetLineageView:
        """The assets upstream and downstream of one asset, following the related-asset
        links of succeeded materializations.

        Args:
            key: the asset's exact key.
            depth: how many links to follow each way: 1 for direct neighbours, None for the
                whole connected history (cycles are followed once).

        Returns:
            The lineage; empty tuples for an unknown key.

        Raises:
            ValueError: `depth` is less than 1.
        """
        raise NotImplementedError

    # -- pages and aggregates for a UI (see `pages.py`) ------------------------------------------
    def count_flow_runs(self, filter: FlowRunFilter | None = None) -> dict[str, int]:
        """How many flow runs match `filter` (its `limit` and `after` ignored), by state type.

        Returns:
            State type -> count; a type with no run is left out (a run with no state yet
            counts as PENDING).
        """
        raise NotImplementedError

    def flow_run_histogram(
        self, filter: FlowRunFilter | None, *, start: float, end: float, buckets: int
    ) -> list[dict[str, int]]:
        """Flow runs created in [start, end), in `buckets` equal intervals, by state type.

        Args:
            filter: which runs (its time bounds, `limit` and `after` ignored).
            start, end: the interval, seconds since the epoch (`end > start`).
            buckets: how many intervals (at least 1).

        Returns:
            One dict per interval, oldest first: state type -> count.
        """
        raise NotImplementedError

    def count_subflows(self, parent_ids: Sequence[UUID]) -> dict[UUID, int]:
        """How many subflow runs each of these flow runs has (parents without any left out)."""
        raise NotImplementedError

    def read_flows(self) -> list[FlowSummaryView]:
        """Every flow with stored runs, by name: its run count and newest run's creation."""
        raise NotImplementedError

    def read_task_run(self, run_id: UUID | str) -> TaskRunView:
        """One task run, by its full id or a unique prefix of it.

        Raises:
            RunNotFoundError: no task run has that id, or the prefix matches several.
        """
        raise NotImplementedError

    def read_task_runs_by_id(self, ids: Sequence[UUID]) -> list[TaskRunView]:
        """The task runs with these full ids, in no particular order (unknown ids left out)."""
        raise NotImplementedError

    def read_task_run_page(self, flow_run_id: UUID, filter: TaskRunFilter) -> list[TaskRunView]:
        """One page of the task runs of a flow run, in the filter's order.

        Args:
            flow_run_id: the flow run.
            filter: which task runs, their order, the cursor and the page size.

        Raises:
            ValueError: `filter.order` is neither "created" nor "start_time".
        """
        raise NotImplementedError

    def count_task_runs(
        self, flow_run_id: UUID, filter: TaskRunFilter | None = None
    ) -> dict[str, int]:
        """How many task runs of a flow run match `filter` (order, cursor and limit ignored),
        by state type."""
        raise NotImplementedError

    def task_run_summary(self, flow_run_id: UUID) -> list[TaskGroupView]:
        """The task runs of a flow run added up per task: counts by state, durations.

        Returns:
            One view per task key, in the order of each task's first start (tasks never
            started last, by key).
        """
        raise NotImplementedError

    def dependency_summary(self, flow_run_id: UUID) -> list[DependencyGroupView]:
        """The dependencies of a flow run's task runs, added up per (upstream, downstream)
        task: enough to draw the graph of a run with 100,000 task runs.

        Returns:
            The groups, sorted by upstream key then downstream key.
        """
        raise NotImplementedError

    def read_log_page(self, flow_run_id: UUID, filter: LogFilter) -> list[LogView]:
        """One page of the log lines of a flow run and its task runs: the lines stored with
        the flow run's id (the engine gives a task run's lines its flow run's id too), so a
        page is one range of one index.

        Returns:
            Oldest first, or newest first with `filter.newest_first`.
        """
        raise NotImplementedError

    def read_change_token(self, flow_run_id: UUID | None = None) -> str:
        """A short text that changes whenever something is committed about a flow run (its
        states, its task runs' states, its logs), or with None about any flow run's state.

        Cheap to ask once a second: a UI polls it and reloads only when it changes.
        """
        raise NotImplementedError

    def mark_crashed(self, *, heartbeat_before: float, now: float) -> list[UUID]:
        """Mark Crashed every unfinished flow run whose last sign of life is older than a bound.

        A run's last sign of life is its newest heartbeat, or its creation if it never sent
        one. Its unfinished task runs are marked Crashed too.

        Args:
            heartbeat_before: runs silent since before this time crashed.
            now: the timestamp of the Crashed states.

        Returns:
            The ids of the flow runs marked Crashed.
        """
        raise NotImplementedError

    def request_cancel(
        self, run_id: UUID | str, *, requested_by: str | None = None, now: float | None = None
    ) -> FlowRunView:
        """Ask a flow run to stop: the process running it sees the request within a fraction
        of a second, and the run (with its subflows and task runs not yet started) ends
        `Cancelled`. Asking twice is harmless.

        Args:
            run_id: the flow run's id, or a unique prefix of it.
            requested_by: who asks (shown with the request), e.g. "cli".
            now: when the request is made (default: now).

        Returns:
            The run as it is now (not yet cancelled).

        Raises:
            RunNotFoundError: no flow run has that id, or the prefix matches several.
            RunFinishedError: the run is already in a final state.
        """
        from headwater.errors import RunFinishedError

        run = self.read_flow_run(run_id)
        if run.state_type in FINAL_STATE_TYPES:
            raise RunFinishedError(
                f"Flow run {run.name!r} ({run.id}) already finished in state "
                f"{run.state_name!r}: there is nothing to cancel. Only runs that are still "
                f"running or waiting to start can be cancelled (`headwater runs ls --state "
                f"running`).",
                run_id=str(run.id), state=run.state_name or "",
            )
        when = time.time() if now is None else now
        self._write_cancel_request(str(run.id), requested_by, when)
        if run.state_type == "SCHEDULED":  # a deployment run no process took yet ends now
            self._cancel_unclaimed(str(run.id), when)
        return run

    def _write_cancel_request(self, run_id: str, requested_by: str | None, now: float) -> None:
        """Store a cancel request for `run_id` (keep an earlier one if there is)."""
        raise NotImplementedError

    def read_cancel_requests(self, flow_run_ids: Sequence[str]) -> list[str]:
        """Which of these flow runs were asked to stop.

        Args:
            flow_run_ids: the ids (full, as text) to ask about: the runs a process is running.

        Returns:
            The ids among them that have a cancel request.
        """
        raise NotImplementedError

    def prune(
        self, *, created_before: float, now: float | None = None, dry_run: bool = False
    ) -> PruneResult:
        """Delete final flow runs created before a time, with their task runs, states, logs,
        dependencies and events (asset events and lineage links included).

        Only flow runs in a final state go, and none that belongs to an unfinished run (a
        subflow of a running flow, or the parent of a running subflow): a running run and
        everything it wrote survive any prune. Task runs outside any flow go by their own age;
        task runs whose flow run is gone (left by an older version) go once they are an hour
        old. SQL stores delete in many short transactions, so writers never wait long.

        Args:
            created_before: flow runs created before this time (seconds since the epoch) go.
            now: the current time (default: now), for the age of orphaned task runs.
            dry_run: only count what would go; delete nothing.

        Returns:
            What was deleted, or would be.

        Raises:
            StoreUnavailableError: the database cannot be reached or written.
        """
        raise NotImplementedError

    def reset(self) -> None:
        """Delete every record (the schema stays)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections. The store is not used afterwards."""


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
