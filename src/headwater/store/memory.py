"""`MemoryStore`: the run store kept in this process's memory.

A real implementation (it passes the contract suite), for users' unit tests and for tools that
want a store without a file. `HEADWATER_STORE=memory` keeps records in a `MemorySink` instead;
this class is what the CLI and server get when asked for a memory store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from uuid import UUID

from headwater.store.assets import (
    MATERIALIZED,
    materialization_view,
    properties_of,
    walk_lineage,
)
from headwater.store.base import (
    FINAL_STATE_TYPES,
    AssetLineageView,
    AssetMaterializationView,
    AssetView,
    Batch,
    DependencyView,
    EventView,
    FlowRunFilter,
    FlowRunView,
    LogView,
    PruneResult,
    Row,
    RunStore,
    StateView,
    TaskRunView,
)
from headwater.store.memory_deployments import MemoryDeploymentMethods
from headwater.store.memory_pages import MemoryPageReads, flow_run_matches
from headwater.store.pruning import ORPHAN_GRACE_SECONDS, doomed_flow_runs
from headwater.store.replay import already_applied, unseen_in
from headwater.store.rows import (
    dependency_view,
    event_view,
    flow_run_view,
    log_view,
    task_run_view,
)
from headwater.store.states import state_key, state_view, transition


class MemoryStore(MemoryDeploymentMethods, MemoryPageReads, RunStore):
    """Rows in dicts and lists, guarded by one lock."""

    url = "memory://"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flow_runs: dict[str, Row] = {}
        self._task_runs: dict[str, Row] = {}
        self._logs: list[Row] = []
        self._dependencies: list[Row] = []
        self._events: list[Row] = []
        self._asset_events: list[Row] = []  # in insertion order, like the SQL id
        self._asset_edges: list[Row] = []
        self._cancel_requests: dict[str, Row] = {}
        self._deployments: dict[str, Row] = {}
        self._deployment_runs: dict[str, Row] = {}  # by flow run id
        self._last_log_id = 0
        self._states: dict[str, list[Row]] = {}  # by run id, in insertion order
        self._state_keys: set[tuple[object, ...]] = set()  # every state's `KEY` (replays)
        self._applied: set[tuple[object, ...]] = set()  # (run, timestamp, type, run count)
        self._last_state_id = 0

    # -- writing ------------------------------------------------------------------------------
    def write_batch(self, batch: Batch) -> None:
        replay = batch.replay
        with self._lock:
            for row in batch.flow_runs:  # a run already there is newer: kept as it is
                self._flow_runs.setdefault(row["id"], dict(row))
            for row in batch.task_runs:
                self._task_runs.setdefault(row["id"], dict(row))
            for update in batch.run_updates:
                table = self._flow_runs if update["kind"] == "flow" else self._task_runs
                run = table.get(update["id"])
                if run is None or (replay and already_applied(update, self._applied)):
                    continue
                apply_update(run, update)
            self._add_states(batch.states)
            log_rows = unseen_in(batch.logs, self._logs) if replay else batch.logs
            for row in log_rows:
                self._last_log_id += 1
                self._logs.append({**row, "id": self._last_log_id})
            for rows, stored in (
                (batch.dependencies, self._dependencies), (batch.events, self._events),
                (batch.asset_events, self._asset_events), (batch.asset_edges, self._asset_edges),
            ):
                stored.extend(unseen_in(rows, stored) if replay else rows)
            for run_id in batch.heartbeats:
                if run_id in self._flow_runs:
                    self._flow_runs[run_id]["heartbeat"] = batch.now

    # -- reading ------------------------------------------------------------------------------
    def read_flow_runs(self, filter: FlowRunFilter | None = None) -> list[FlowRunView]:
        f = filter or FlowRunFilter()
        with self._lock:
            rows = [r for r in self._flow_runs.values() if flow_run_matches(f, r)]
        rows.sort(key=lambda r: (r["created"], r["id"]), reverse=True)
        if f.limit is not None:
            rows = rows[: f.limit]
        return [flow_run_view(r) for r in rows]

    def read_task_runs(self, flow_run_id: UUID) -> list[TaskRunView]:
        wanted = str(flow_run_id)
        with self._lock:
            rows = [r for r in self._task_runs.values() if r.get("flow_run_id") == wanted]
        rows.sort(key=lambda r: (r["created"], r["id"]))
        return [task_run_view(r) for r in rows]

    def read_states(
        self, run_id: UUID, *, after_id: int = 0, limit: int | None = None
    ) -> list[StateView]:
        with self._lock:
            rows = [r for r in self._states.get(str(run_id), ()) if r["id"] > after_id]
        return [state_view(r) for r in rows[:limit]]

    def _add_states(self, rows: list[Row]) -> None:
        """Append state rows; one already stored (the same `KEY`) is left out."""
        for row in rows:
            key = state_key(row)
            if key in self._state_keys:
                continue
            self._state_keys.add(key)
            self._applied.add(key[:4])
            self._last_state_id += 1
            self._states.setdefault(row["run_id"], []).append({**row, "id": self._last_state_id})

    def _forget_states(self, run_ids: set[str]) -> None:
        """Delete the state rows of these runs (the caller holds the lock)."""
        for run_id in run_ids:
            for row in self._states.pop(run_id, ()):
                key = state_key(row)
                self._state_keys.discard(key)
                self._applied.discard(key[:4])

    def _transition(self, run: Row, made: tuple[Row, Row]) -> None:
        """Apply a run update the store makes itself, with its state row: a new transition
        even if an earlier one agrees on everything (it takes the next free `seq`)."""
        update, state = made
        apply_update(run, update)
        while state_key(state) in self._state_keys:
            state = {**state, "seq": state["seq"] + 1}
        self._add_states([state])

    def read_logs(
        self, flow_run_id: UUID, *, after_id: int = 0, limit: int | None = None
    ) -> list[LogView]:
        wanted = str(flow_run_id)
        with self._lock:
            tasks = {r["id"] for r in self._task_runs.values() if r.get("flow_run_id") == wanted}
            rows = [
                r for r in self._logs
                if r["id"] > after_id
                and (r.get("flow_run_id") == wanted or r.get("task_run_id") in tasks)
            ]
        return [log_view(r) for r in rows[:limit]]

    def read_dependencies(self, flow_run_id: UUID) -> list[DependencyView]:
        wanted = str(flow_run_id)
        with self._lock:
            tasks = {r["id"] for r in self._task_runs.values() if r.get("flow_run_id") == wanted}
            rows = [r for r in self._dependencies if r["task_run_id"] in tasks]
        return [dependency_view(r) for r in rows]

    def read_events(self, flow_run_id: UUID) -> list[EventView]:
        wanted = str(flow_run_id)
        with self._lock:
            tasks = {r["id"] for r in self._task_runs.values() if r.get("flow_run_id") == wanted}
            rows = [
                r for r in self._events
                if r.get("flow_run_id") == wanted or r.get("task_run_id") in tasks
            ]
        return [event_view(r) for r in rows]

    # -- assets -------------------------------------------------------------------------------
    def read_assets(self, keys: Sequence[str] | None = None) -> list[AssetView]:
        wanted = None if keys is None else set(keys)
        with self._lock:
            rows = [r for r in self._asset_events if wanted is None or r["asset_key"] in wanted]
        by_key: dict[str, list[Row]] = {}
        for row in rows:
            by_key.setdefault(row["asset_key"], []).append(row)
        views = []
        for key in sorted(by_key):
            # Stable sort: rows of equal time keep insertion order, so the last one is newest.
            events = sorted(by_key[key], key=lambda r: r["timestamp"])
            made = [r for r in events if r["kind"] in MATERIALIZED]
            described = [r for r in events if r["properties"] != "{}"]
            views.append(AssetView(
                key=key,
                properties=properties_of(described[-1]["properties"]) if described else {},
                latest_status=made[-1]["kind"] if made else None,
                latest_time=made[-1]["timestamp"] if made else None,
                materializations=len(made),
                last_seen=events[-1]["timestamp"],
            ))
        return views

    def read_asset_materializations(
        self, key: str, *, limit: int | None = 20
    ) -> list[AssetMaterializationView]:
        with self._lock:
            rows = [
                r for r in self._asset_events
                if r["asset_key"] == key and r["kind"] in MATERIALIZED
            ]
        rows = sorted(reversed(rows), key=lambda r: r["timestamp"], reverse=True)
        return [materialization_view(r) for r in rows[:limit]]

    def asset_lineage(self, key: str, *, depth: int | None = 1) -> AssetLineageView:
        with self._lock:
            edges = {(r["upstream_key"], r["downstream_key"]) for r in self._asset_edges}
        return walk_lineage(
            key, depth,
            lambda keys: {e for e in edges if e[1] in keys},
            lambda keys: {e for e in edges if e[0] in keys},
        )

    # -- maintenance --------------------------------------------------------------------------
    def mark_crashed(self, *, heartbeat_before: float, now: float) -> list[UUID]:
        crashed: list[UUID] = []
        with self._lock:
            for run in self._flow_runs.values():
                alive = run.get("heartbeat") or run["created"]
                if run["state_type"] in FINAL_STATE_TYPES or alive >= heartbeat_before:
                    continue
                if run["state_type"] == "SCHEDULED" and run.get("start_time") is None:
                    continue  # a deployment run waiting for its time: no process to heartbeat
                crashed.append(UUID(run["id"]))
                runs = [(run, "flow")] + [
                    (task, "task") for task in self._task_runs.values()
                    if task.get("flow_run_id") == run["id"]
                    and task["state_type"] not in FINAL_STATE_TYPES
                ]
                for row, kind in runs:
                    self._transition(row, crashed_update(row, kind, now))
        return crashed

    def _write_cancel_request(self, run_id: str, requested_by: str | None, now: float) -> None:
        with self._lock:
            self._cancel_requests.setdefault(
                run_id, {"action": "cancel", "requested_at": now, "requested_by": requested_by}
            )

    def read_cancel_requests(self, flow_run_ids: Sequence[str]) -> list[str]:
        with self._lock:
            return [i for i in flow_run_ids if i in self._cancel_requests]

    def prune(
        self, *, created_before: float, now: float | None = None, dry_run: bool = False
    ) -> PruneResult:
        now = time.time() if now is None else now
        orphaned_before = min(created_before, now - ORPHAN_GRACE_SECONDS)
        with self._lock:
            runs = self._flow_runs
            candidates = {i: r["parent_flow_run_id"] for i, r in runs.items()
                          if r["state_type"] in FINAL_STATE_TYPES and r["created"] < created_before}
            unfinished = {i: r["parent_flow_run_id"] for i, r in runs.items()
                          if r["state_type"] not in FINAL_STATE_TYPES}
            flows = set(doomed_flow_runs(
                candidates, unfinished,
                lambda ids: {i: runs[i]["parent_flow_run_id"] for i in ids if i in runs}))
            tasks, orphans = set(), set()
            for i, r in self._task_runs.items():
                parent = r.get("flow_run_id")
                if parent in flows or (parent is None and r["created"] < created_before
                                       and r["state_type"] in FINAL_STATE_TYPES):
                    tasks.add(i)
                elif parent is not None and parent not in runs and r["created"] < orphaned_before:
                    orphans.add(i)
            result = PruneResult(
                flow_runs=len(flows), task_runs=len(tasks), orphan_task_runs=len(orphans),
                kept_flow_runs=len(candidates) - len(flows),
                flow_run_ids=tuple(UUID(i) for i in sorted(flows)) if dry_run else (),
            )
            if dry_run:
                return result
            self._delete(flows, tasks | orphans)
            swept = self._sweep(orphaned_before)
        return PruneResult(**{**vars(result), "orphan_rows": swept})

    def _sweep(self, orphaned_before: float) -> int:
        """Delete log, event and asset rows whose run is gone (see `store/pruning.py`)."""
        def orphaned(row: Row) -> bool:
            flow, task = row.get("flow_run_id"), row.get("task_run_id")
            return row["timestamp"] < orphaned_before and (
                (flow is not None and flow not in self._flow_runs)
                or (task is not None and task not in self._task_runs))

        swept = 0
        for name in ("_logs", "_events", "_asset_events", "_asset_edges"):
            rows: list[Row] = getattr(self, name)
            kept = [row for row in rows if not orphaned(row)]
            swept += len(rows) - len(kept)
            setattr(self, name, kept)
        gone = {run_id for run_id, rows in self._states.items()
                if run_id not in self._flow_runs and run_id not in self._task_runs
                and rows[-1]["timestamp"] < orphaned_before}
        swept += sum(len(self._states[run_id]) for run_id in gone)
        self._forget_states(gone)
        return swept

    def _delete(self, flows: set[str], tasks: set[str]) -> None:
        for i in flows:
            del self._flow_runs[i]
            self._cancel_requests.pop(i, None)
            self._deployment_runs.pop(i, None)
        for i in tasks:
            del self._task_runs[i]
        self._forget_states(flows | tasks)

        def kept(rows: list[Row]) -> list[Row]:
            return [
                r for r in rows
                if r.get("flow_run_id") not in flows and r.get("task_run_id") not in tasks
            ]

        self._logs = kept(self._logs)
        self._dependencies = [r for r in self._dependencies if r["task_run_id"] not in tasks]
        self._events = kept(self._events)
        self._asset_events = kept(self._asset_events)
        self._asset_edges = kept(self._asset_edges)

    def reset(self) -> None:
        with self._lock:
            self.__init__()  # type: ignore[misc]


CRASH_MESSAGE = (
    "The process running this {kind} run stopped sending heartbeats; it was marked Crashed."
)


def crashed_update(row: Row, kind: str, now: float) -> tuple[Row, Row]:
    """The run update that marks one run Crashed (row: at least `id` and `run_count`), and
    its state row."""
    return transition(row["id"], kind, row["run_count"] or 0, "CRASHED", "Crashed",
                      CRASH_MESSAGE.format(kind=kind), now, end_time=now)


def apply_update(run: Row, update: Row) -> None:
    """Apply one `Batch.run_updates` entry to a run row kept in memory."""
    for key, value in update.items():
        if key in ("id", "kind"):
            continue
        if key == "start_time" and run.get("start_time") is not None:
            continue
        run[key] = value
