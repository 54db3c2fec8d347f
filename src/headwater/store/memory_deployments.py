"""The deployment methods of `MemoryStore` (it inherits them): the same rules as the SQL store,
on dicts guarded by the store's lock."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from headwater.store.base import FINAL_STATE_TYPES, Row
from headwater.store.deployment_rows import (
    deployment_changes,
    deployment_row,
    deployment_run_row,
    deployment_run_view,
    deployment_view,
    final_update,
    pending_update,
    scheduled_flow_run_row,
)
from headwater.store.deployments import (
    CANCELLED_MESSAGE,
    MISSED_MESSAGE,
    ClaimResult,
    DeploymentRunView,
    DeploymentSpec,
    DeploymentView,
    NewDeploymentRun,
)

DELETED_MESSAGE = "Cancelled: its deployment was deleted before a serve process started it."


class MemoryDeploymentMethods:
    """Deployments and their runs, in memory. Mixed into `MemoryStore`."""

    if TYPE_CHECKING:
        _lock: threading.Lock
        _flow_runs: dict[str, Row]
        _task_runs: dict[str, Row]
        _cancel_requests: dict[str, Row]
        _deployments: dict[str, Row]
        _deployment_runs: dict[str, Row]

        def read_deployment(self, name: str | UUID) -> DeploymentView: ...
        def _transition(self, run: Row, made: tuple[Row, Row]) -> None: ...
        def _add_states(self, rows: list[Row]) -> None: ...
        def _forget_states(self, run_ids: set[str]) -> None: ...

    # -- deployments --------------------------------------------------------------------------
    def register_deployment(self, spec: DeploymentSpec, *, now: float) -> DeploymentView:
        with self._lock:
            current = next((row for row in self._deployments.values()
                            if row["flow_name"] == spec.flow_name[:255]
                            and row["name"] == spec.name[:255]), None)
            if current is None:
                current = deployment_row(spec, now)
                self._deployments[current["id"]] = current
                return deployment_view(current)
            changes = deployment_changes(spec, current, now)
            if "last_tick" in changes:
                self._delete_unclaimed(current["id"], scheduled_only=True)
            current.update(changes)
            return deployment_view(current)

    def read_deployments(self) -> list[DeploymentView]:
        with self._lock:
            rows = sorted(self._deployments.values(), key=lambda r: (r["flow_name"], r["name"]))
            return [deployment_view(row) for row in rows]

    def set_deployment_paused(
        self, name: str | UUID, paused: bool, *, now: float
    ) -> DeploymentView:
        found = self.read_deployment(name)
        with self._lock:
            current = self._deployments.get(str(found.id))
            if current is not None:
                if paused:
                    self._delete_unclaimed(current["id"], scheduled_only=True)
                elif current["paused"]:
                    current["schedule_from"] = now
                current.update(paused=int(paused), updated=now)
        return self.read_deployment(found.id)

    def delete_deployment(self, name: str | UUID, *, now: float) -> DeploymentView:
        found = self.read_deployment(name)
        deployment_id = str(found.id)
        with self._lock:
            self._delete_unclaimed(deployment_id, scheduled_only=True)
            for run in self._deployment_runs.values():
                if run["deployment_id"] == deployment_id and run["status"] == "scheduled":
                    run["status"] = "cancelled"
                    self._end(run["flow_run_id"], "CANCELLED", "Cancelled", DELETED_MESSAGE, now)
            self._deployments.pop(deployment_id, None)
        return found

    def _delete_unclaimed(self, deployment_id: str, *, scheduled_only: bool) -> None:
        for run_id, run in list(self._deployment_runs.items()):
            if (run["deployment_id"] == deployment_id and run["status"] == "scheduled"
                    and (run["tick"] is not None or not scheduled_only)):
                del self._deployment_runs[run_id]
                self._flow_runs.pop(run_id, None)
                self._forget_states({run_id})

    def touch_deployments(
        self, deployment_ids: Sequence[UUID | str], *, now: float, served_by: str
    ) -> None:
        with self._lock:
            for deployment_id in deployment_ids:
                row = self._deployments.get(str(deployment_id))
                if row is not None:
                    row.update(last_served=now, served_by=served_by[:255])

    # -- runs ---------------------------------------------------------------------------------
    def create_deployment_runs(
        self, deployment_id: UUID | str, runs: Sequence[NewDeploymentRun], *, now: float
    ) -> list[UUID]:
        created: list[UUID] = []
        with self._lock:
            deployment = self._deployments.get(str(deployment_id))
            if deployment is None:
                return []
            taken = {(r["deployment_id"], r["tick"]) for r in self._deployment_runs.values()
                     if r["tick"] is not None}
            for run in runs:
                if run.tick is not None:
                    if deployment["paused"]:
                        continue
                    last = deployment["last_tick"]
                    deployment["last_tick"] = run.tick if last is None else max(last, run.tick)
                    if (deployment["id"], run.tick) in taken:
                        continue
                    taken.add((deployment["id"], run.tick))
                if run.flow_run_id in self._deployment_runs:
                    continue
                self._deployment_runs[run.flow_run_id] = deployment_run_row(
                    run, deployment["id"], now)
                flow_run, state = scheduled_flow_run_row(run, deployment, now)
                self._flow_runs[run.flow_run_id] = flow_run
                self._add_states([state])
                created.append(UUID(run.flow_run_id))
        return created

    def _run_view(self, run: Row) -> DeploymentRunView:
        flow_run = self._flow_runs.get(run["flow_run_id"], {})
        return deployment_run_view({
            **run, "name": flow_run.get("name", ""),
            "parameters": flow_run.get("parameters"),
            "state_type": flow_run.get("state_type"), "state_name": flow_run.get("state_name"),
        })

    def read_deployment_runs(
        self, deployment_ids: Sequence[UUID | str] | None = None, *,
        statuses: Sequence[str] = ("scheduled",), limit: int | None = 20,
    ) -> list[DeploymentRunView]:
        wanted = None if deployment_ids is None else {str(i) for i in deployment_ids}
        with self._lock:
            rows = [r for r in self._deployment_runs.values()
                    if r["status"] in statuses and r["flow_run_id"] in self._flow_runs
                    and (wanted is None or r["deployment_id"] in wanted)]
            rows.sort(key=lambda r: (r["scheduled_time"], r["flow_run_id"]))
            return [self._run_view(r) for r in rows[:limit]]

    def claim_deployment_runs(
        self, deployment_ids: Sequence[UUID | str], *, due_before: float, now: float,
        claimed_by: str, limit: int | None, catchup_seconds: float,
    ) -> ClaimResult:
        ids = {str(i) for i in deployment_ids}
        if not ids or (limit is not None and limit <= 0):
            return ClaimResult([], [])
        with self._lock:
            mine = [r for r in self._deployment_runs.values() if r["deployment_id"] in ids]
            newest: dict[str, float] = {}
            for r in mine:
                if r["tick"] is not None and r["tick"] <= now:
                    newest[r["deployment_id"]] = max(newest.get(r["deployment_id"], r["tick"]),
                                                     r["tick"])
            missed: list[UUID] = []
            message = MISSED_MESSAGE.format(window=catchup_seconds)
            for r in mine:
                if (r["status"] == "scheduled" and r["tick"] is not None
                        and r["scheduled_time"] < now - catchup_seconds
                        and r["tick"] < newest.get(r["deployment_id"], r["tick"])):
                    r["status"] = "missed"
                    self._end(r["flow_run_id"], "CANCELLED", "Missed", message, now)
                    missed.append(UUID(r["flow_run_id"]))
            for r in mine:
                if r["status"] == "scheduled" and r["flow_run_id"] in self._cancel_requests:
                    r["status"] = "cancelled"
                    self._end(r["flow_run_id"], "CANCELLED", "Cancelled", CANCELLED_MESSAGE, now)
            due = sorted(
                (r for r in mine if r["status"] == "scheduled" and r["scheduled_time"] <= due_before
                 and (r["tick"] is None
                      or not self._deployments.get(r["deployment_id"], {}).get("paused"))),
                key=lambda r: (r["scheduled_time"], r["flow_run_id"]),
            )
            room = {}
            for deployment_id in ids:
                cap = self._deployments.get(deployment_id, {}).get("concurrency_limit")
                if cap is not None:
                    room[deployment_id] = cap - sum(
                        1 for r in self._deployment_runs.values()
                        if r["deployment_id"] == deployment_id and r["status"] == "claimed"
                        and self._flow_runs.get(r["flow_run_id"], {}).get("state_type")
                        not in FINAL_STATE_TYPES)
            allowed = []
            for r in due:
                if r["deployment_id"] in room:
                    if room[r["deployment_id"]] <= 0:
                        continue
                    room[r["deployment_id"]] -= 1
                allowed.append(r)
            due = allowed[:limit]
            for r in due:
                r.update(status="claimed", claimed_by=claimed_by[:255], claimed_at=now)
                flow_run = self._flow_runs.get(r["flow_run_id"])
                if flow_run is not None:
                    self._transition(
                        flow_run, pending_update(r["flow_run_id"], flow_run["run_count"], now))
            return ClaimResult([self._run_view(r) for r in due], missed)

    def requeue_crashed_runs(
        self, deployment_ids: Sequence[UUID | str], *, now: float
    ) -> list[UUID]:
        ids = {str(i) for i in deployment_ids}
        requeued: list[UUID] = []
        with self._lock:
            for r in self._deployment_runs.values():
                limit = self._deployments.get(r["deployment_id"], {}).get("resume_crashed") or 0
                run = self._flow_runs.get(r["flow_run_id"], {})
                if (r["deployment_id"] in ids and r["status"] == "claimed"
                        and run.get("state_type") == "CRASHED"
                        and limit > (r.get("resumes") or 0)):
                    r.update(status="scheduled", scheduled_time=now, claimed_by=None,
                             claimed_at=None, resumes=(r.get("resumes") or 0) + 1)
                    requeued.append(UUID(r["flow_run_id"]))
        return requeued

    def end_flow_run(
        self, run_id: UUID | str, *, state_type: str, state_name: str, message: str,
        now: float,
    ) -> bool:
        with self._lock:
            return self._end(str(run_id), state_type, state_name, message, now)

    def _end(self, run_id: str, state_type: str, state_name: str, message: str,
             now: float) -> bool:
        run = self._flow_runs.get(run_id)
        if run is None or run["state_type"] in FINAL_STATE_TYPES:
            return False
        self._transition(run, final_update(run_id, "flow", run["run_count"] or 0, state_type,
                                           state_name, message, now))
        for task in self._task_runs.values():
            if task.get("flow_run_id") == run_id and task["state_type"] not in FINAL_STATE_TYPES:
                self._transition(task, final_update(task["id"], "task", task["run_count"] or 0,
                                                    state_type, state_name, message, now))
        return True

    def _cancel_unclaimed(self, run_id: str, now: float) -> None:
        with self._lock:
            run = self._deployment_runs.get(run_id)
            if run is not None and run["status"] == "scheduled":
                run["status"] = "cancelled"
                self._end(run_id, "CANCELLED", "Cancelled", CANCELLED_MESSAGE, now)

