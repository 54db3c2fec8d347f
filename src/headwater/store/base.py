"""The `RunStore` seam: durable run history, read and written through our own dataclasses.

Writers hand the store one `Batch` at a time (`batch.py`; the store sink's writer builds them);
readers (the CLI, the server, tests) get frozen views (`views.py`). Implementations:
`MemoryStore` (`memory.py`), `SqliteRunStore` and `PostgresRunStore` (`sql.py`). Every one
passes `tests/contracts/test_run_store_contract.py`. The methods a UI needs are declared in
`pages.py`, those of deployments in `deployments.py`.

The batch, the views and the filters are re-exported here: `headwater.store.base` names every
type the seam takes or returns.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from uuid import UUID

from headwater.store.batch import FINAL_STATE_TYPES, Batch, Row
from headwater.store.deployments import DeploymentMethods
from headwater.store.pages import (
    DependencyGroupView,
    FlowSummaryView,
    LogFilter,
    PageMethods,
    TaskGroupView,
    TaskRunFilter,
)
from headwater.store.views import (
    AssetLineageView,
    AssetMaterializationView,
    AssetView,
    DependencyView,
    EventView,
    FlowRunFilter,
    FlowRunView,
    LogView,
    PruneResult,
    StateView,
    TaskRunView,
    decode_json,
    state_matches,
    to_uuid,
)

__all__ = [
    "FINAL_STATE_TYPES", "AssetLineageView", "AssetMaterializationView", "AssetView", "Batch",
    "DependencyGroupView", "DependencyView", "EventView", "FlowRunFilter", "FlowRunView",
    "FlowSummaryView", "LogFilter", "LogView", "PruneResult", "Row", "RunStore", "StateView",
    "TaskGroupView", "TaskRunFilter", "TaskRunView", "decode_json", "state_matches", "to_uuid",
]


class RunStore(PageMethods, DeploymentMethods):
    """Base class of every run store. All methods are thread-safe in every implementation.

    The methods a UI reads pages with are in `store/pages.py`; those for deployments and
    their runs in `store/deployments.py`.
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
