"""What the CLI and the server ask of run history: functions over a `RunStore`.

Commands parse their input, call one of these, and render what comes back. Nothing here
prints or knows about click.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from headwater.errors import (
    AssetNotFoundError,
    ParameterParseError,
    StoreCorruptError,
    StoreUnavailableError,
)
from headwater.store.base import (
    FINAL_STATE_TYPES,
    AssetLineageView,
    AssetMaterializationView,
    AssetView,
    DependencyView,
    FlowRunFilter,
    FlowRunView,
    LogView,
    PruneResult,
    RunStore,
    StateView,
    TaskRunView,
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RunDetails:
    """Everything `headwater runs inspect` shows about one flow run."""

    run: FlowRunView
    states: list[StateView]
    task_runs: list[TaskRunView]
    subflows: list[FlowRunView]
    dependencies: list[DependencyView]


def detect_crashes(store: RunStore, *, now: float | None = None) -> list[UUID]:
    """Mark Crashed the flow runs whose process stopped heartbeating.

    A run is crashed when it is not final and its last heartbeat (or its creation) is older
    than `HEADWATER_CRASH_AFTER_SECONDS` (default 30 s; heartbeats come every 5 s).

    Reading commands call this first, so a run whose process died does not show Running
    forever when no other process opens the store. It is a courtesy of the read path, never a
    condition of it: on a store that cannot be written (a read-only disk or file, a full disk)
    nothing is marked and reading goes on; the next writer marks those runs.

    Returns:
        The ids of the runs marked Crashed now.
    """
    from headwater import settings

    now = time.time() if now is None else now
    crash_after = settings.crash_after_seconds()
    if getattr(store, "read_only", False):
        return []
    try:
        return store.mark_crashed(heartbeat_before=now - crash_after, now=now)
    except StoreCorruptError:
        raise  # reading would fail too: say so once, with what to do
    except StoreUnavailableError:
        return []


def list_runs(
    store: RunStore, *, flow: str | None = None, state: str | None = None, limit: int | None = 20,
    roots_only: bool = False,
) -> list[FlowRunView]:
    """The newest flow runs, after marking crashed ones (so none shows "Running" forever)."""
    detect_crashes(store)
    return store.read_flow_runs(FlowRunFilter(flow_name=flow, state=state, limit=limit,
                                              roots_only=roots_only))


def subflows_of(store: RunStore, runs: list[FlowRunView], limit: int = 20
                ) -> dict[UUID, list[FlowRunView]]:
    """The subflow runs of each of `runs` that has some (at most `limit` each), oldest first."""
    counts = store.count_subflows([run.id for run in runs]) if runs else {}
    return {
        parent: sorted(store.read_flow_runs(FlowRunFilter(parent_flow_run_id=parent,
                                                          limit=limit)),
                       key=lambda r: r.created)
        for parent in counts
    }


def inspect_run(store: RunStore, run_id: str) -> RunDetails:
    """One flow run with its state history, task runs, subflows and lineage.

    Raises:
        RunNotFoundError: no flow run has that id (or unique id prefix).
    """
    detect_crashes(store)
    run = store.read_flow_run(run_id)
    return RunDetails(
        run=run,
        states=store.read_states(run.id),
        task_runs=store.read_task_runs(run.id),
        subflows=store.read_flow_runs(FlowRunFilter(parent_flow_run_id=run.id, limit=None)),
        dependencies=store.read_dependencies(run.id),
    )


def run_logs(
    store: RunStore,
    run_id: str,
    *,
    follow: bool = False,
    poll_seconds: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[LogView]:
    """The log lines of a flow run; with `follow`, keep yielding new ones until it ends.

    Raises:
        RunNotFoundError: no flow run has that id.
    """
    run = store.read_flow_run(run_id)
    last = 0
    while True:
        finished = store.read_flow_run(str(run.id)).state_type in FINAL_STATE_TYPES
        for line in store.read_logs(run.id, after_id=last):
            last = line.id
            yield line
        if not follow or finished:
            return
        sleep(poll_seconds)
        detect_crashes(store)  # so following a run whose process died ends


def parse_duration(text: str) -> float:
    """`30d`, `12h`, `90m`, `45s` or `2w` as seconds.

    Raises:
        ParameterParseError: the text is not a number followed by one of s, m, h, d, w.
    """
    match = _DURATION.match(text)
    if match is None:
        raise ParameterParseError(
            f"{text!r} is not a duration. Write a number and a unit, e.g. '30d' (days), "
            f"'12h', '90m', '45s' or '2w'."
        )
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def prune_older_than(
    store: RunStore, older_than: str, *, now: float | None = None, dry_run: bool = False
) -> PruneResult:
    """Delete final flow runs created more than `older_than` ago (e.g. '30d'), with
    everything that belongs to them; runs still running, and what belongs to them, stay.

    Raises:
        ParameterParseError: `older_than` is not a duration.
    """
    seconds = parse_duration(older_than)
    now = time.time() if now is None else now
    return store.prune(created_before=now - seconds, now=now, dry_run=dry_run)


def run_summary(run: FlowRunView | TaskRunView) -> dict[str, Any]:
    """A run as plain JSON-ready values (for `--json`)."""
    summary: dict[str, Any] = {
        "id": str(run.id),
        "name": run.name,
        "state": run.state_name,
        "state_type": run.state_type,
        "message": run.state_message,
        "created": run.created,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "duration": run.duration,
        "run_count": run.run_count,
        "parameters": run.parameters,
        "tags": list(run.tags),
    }
    if isinstance(run, FlowRunView):
        summary["flow_name"] = run.flow_name
        summary["parent_flow_run_id"] = (
            str(run.parent_flow_run_id) if run.parent_flow_run_id else None
        )
    else:
        summary["task_name"] = run.task_name
        summary["flow_run_id"] = str(run.flow_run_id) if run.flow_run_id else None
    return summary


# -- assets ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AssetDetails:
    """Everything `headwater assets show` shows about one asset.

    Attributes:
        asset: the asset, with its newest materialization's status and time.
        history: its newest materializations, newest first.
        lineage: the assets directly upstream and downstream of it.
        flow_runs: the flow runs that made the materializations in `history`, newest first.
        task_runs: the task runs that made them, by id (those inside a stored flow run).
    """

    asset: AssetView
    history: list[AssetMaterializationView]
    lineage: AssetLineageView
    flow_runs: list[FlowRunView]
    task_runs: dict[UUID, TaskRunView]

    @property
    def latest(self) -> AssetMaterializationView | None:
        """The newest materialization (None if the asset was only ever referenced)."""
        return self.history[0] if self.history else None


def list_assets(store: RunStore) -> list[AssetView]:
    """Every asset recorded in the store, materialized or only referenced, sorted by key."""
    return store.read_assets()


def close_keys(key: str, keys: list[str], n: int = 3) -> tuple[str, ...]:
    """Stored keys that look like `key`: those containing it first, then similar spellings."""
    wanted = key.strip().lower()
    containing = [k for k in keys if wanted and wanted in k.lower()]
    similar = difflib.get_close_matches(key, keys, n=n, cutoff=0.6)
    return tuple(dict.fromkeys([*containing, *similar]))[:n]


def asset_details(
    store: RunStore, key: str, *, limit: int | None = 20, depth: int | None = 1
) -> AssetDetails:
    """One asset: its latest materialization and history, its upstream and downstream assets,
    and the runs that materialized it.

    Args:
        store: the run store.
        key: the asset's exact key, e.g. `s3://bucket/data.csv`.
        limit: at most this many materializations in the history.
        depth: how many lineage links to follow each way.

    Raises:
        AssetNotFoundError: no asset has that key; the message suggests close keys.
    """
    key = key.strip()
    found = store.read_assets([key])
    if not found:
        known = [asset.key for asset in store.read_assets()]
        suggestions = close_keys(key, known)
        if suggestions:
            hint = "Did you mean " + " or ".join(repr(k) for k in suggestions) + "?"
        elif known:
            hint = f"{len(known)} asset(s) are recorded; list them with `headwater assets ls`."
        else:
            hint = ("No assets are recorded yet: run a flow with a @materialize task, e.g. "
                    "`python examples/assets_pipeline.py`.")
        raise AssetNotFoundError(
            f"No asset has the key {key!r} in {store.display_url or 'the run store'}. {hint}",
            key=key, suggestions=suggestions,
        )
    history = store.read_asset_materializations(key, limit=limit)
    flow_ids = list(dict.fromkeys(m.flow_run_id for m in history if m.flow_run_id is not None))
    flow_runs = store.read_flow_runs(
        FlowRunFilter(ids=tuple(str(i) for i in flow_ids), limit=None)
    ) if flow_ids else []
    order = {run_id: position for position, run_id in enumerate(flow_ids)}
    flow_runs.sort(key=lambda run: order.get(run.id, len(order)))
    wanted = {m.task_run_id for m in history}
    task_runs = {
        task.id: task
        for run in flow_runs for task in store.read_task_runs(run.id) if task.id in wanted
    }
    return AssetDetails(
        asset=found[0], history=history, lineage=store.asset_lineage(key, depth=depth),
        flow_runs=flow_runs, task_runs=task_runs,
    )


def asset_summary(asset: AssetView) -> dict[str, Any]:
    """An asset as plain JSON-ready values (for `--json`)."""
    return {
        "key": asset.key, "properties": asset.properties,
        "latest_status": asset.latest_status, "latest_time": asset.latest_time,
        "materializations": asset.materializations, "last_seen": asset.last_seen,
    }


def materialization_summary(
    item: AssetMaterializationView, task_runs: dict[UUID, TaskRunView] | None = None
) -> dict[str, Any]:
    """A materialization as plain JSON-ready values (for `--json`)."""
    task = (task_runs or {}).get(item.task_run_id) if item.task_run_id else None
    return {
        "status": item.status, "timestamp": item.timestamp, "metadata": item.metadata,
        "materialized_by": item.materialized_by,
        "flow_run_id": str(item.flow_run_id) if item.flow_run_id else None,
        "task_run_id": str(item.task_run_id) if item.task_run_id else None,
        "task_run_name": task.name if task is not None else None,
        "upstream": list(item.upstream),
    }
