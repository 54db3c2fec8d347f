"""Rows of the deployment tables, and the run updates deployments make: shared by every store."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from headwater.store.base import Row
from headwater.store.deployments import (
    DeploymentRunView,
    DeploymentSpec,
    DeploymentView,
    NewDeploymentRun,
)
from headwater.store.states import state_row, transition


def deployment_row(spec: DeploymentSpec, now: float) -> Row:
    """The `deployments` row for a new deployment."""
    return {
        "id": spec.id, "name": spec.name[:255], "flow_name": spec.flow_name[:255],
        "entrypoint": spec.entrypoint, "working_dir": spec.working_dir,
        "schedules": json.dumps(list(spec.schedules), sort_keys=True),
        "parameters": json.dumps(spec.parameters or {}, sort_keys=True),
        "tags": json.dumps(list(spec.tags)), "description": spec.description,
        "version": None if spec.version is None else spec.version[:255],
        "paused": int(bool(spec.paused)), "concurrency_limit": spec.concurrency_limit,
        "created": now, "updated": now, "schedule_from": now, "last_tick": None,
        "last_served": None, "served_by": None, "resume_crashed": spec.resume_crashed,
    }


def deployment_changes(spec: DeploymentSpec, current: Row, now: float) -> Row:
    """The columns to update when `spec` is registered again over the stored row `current`."""
    new = deployment_row(spec, now)
    changes = {k: new[k] for k in ("entrypoint", "working_dir", "schedules", "parameters",
                                   "tags", "description", "version", "concurrency_limit",
                                   "resume_crashed")}
    changes["updated"] = now
    if spec.paused is not None:
        changes["paused"] = int(spec.paused)
        if current["paused"] and not spec.paused:
            changes["schedule_from"] = now
    if new["schedules"] != current["schedules"]:
        changes["schedule_from"] = now
        changes["last_tick"] = None
    return changes


def deployment_view(row: Any) -> DeploymentView:
    return DeploymentView(
        id=UUID(str(row["id"])), name=row["name"], flow_name=row["flow_name"],
        entrypoint=row["entrypoint"], working_dir=row["working_dir"],
        schedules=json.loads(row["schedules"]), parameters=json.loads(row["parameters"]),
        tags=tuple(json.loads(row["tags"])), description=row["description"],
        version=row["version"], paused=bool(row["paused"]),
        concurrency_limit=row["concurrency_limit"], created=row["created"],
        updated=row["updated"], schedule_from=row["schedule_from"], last_tick=row["last_tick"],
        last_served=row["last_served"], served_by=row["served_by"],
        resume_crashed=row.get("resume_crashed") or 0,
    )


def deployment_run_view(row: Any) -> DeploymentRunView:
    return DeploymentRunView(
        flow_run_id=UUID(str(row["flow_run_id"])), deployment_id=UUID(str(row["deployment_id"])),
        name=row["name"], tick=row["tick"], scheduled_time=row["scheduled_time"],
        status=row["status"], claimed_by=row["claimed_by"], claimed_at=row["claimed_at"],
        parameters=json.loads(row["parameters"] or "{}"), state_type=row["state_type"],
        state_name=row["state_name"], resumes=row.get("resumes") or 0,
    )


def scheduled_flow_run_row(
    run: NewDeploymentRun, deployment: Row, now: float
) -> tuple[Row, Row]:
    """The `flow_runs` row of a deployment run that has not started (state Scheduled), and
    its state row."""
    return {
        "id": run.flow_run_id, "name": run.name[:255],
        "parameters": json.dumps(run.parameters), "tags": deployment["tags"], "created": now,
        "state_type": "SCHEDULED", "state_name": "Scheduled", "state_message": None,
        "state_timestamp": now, "start_time": None, "end_time": None, "run_count": 0,
        "result": None, "flow_name": deployment["flow_name"],
        "flow_version": deployment["version"], "parent_flow_run_id": None,
        "parent_task_run_id": None, "heartbeat": None,
    }, state_row(run.flow_run_id, "flow", "SCHEDULED", "Scheduled", None, now, 0)


def deployment_run_row(run: NewDeploymentRun, deployment_id: str, now: float) -> Row:
    """The `deployment_runs` row of a new run."""
    return {
        "flow_run_id": run.flow_run_id, "deployment_id": deployment_id, "tick": run.tick,
        "scheduled_time": run.scheduled_time, "status": "scheduled", "claimed_by": None,
        "claimed_at": None, "created": now,
    }


def final_update(run_id: str, kind: str, run_count: int, state_type: str, state_name: str,
                 message: str, now: float) -> tuple[Row, Row]:
    """A run update that ends one run in a final state, and its state row."""
    return transition(run_id, kind, run_count, state_type, state_name, message, now,
                      end_time=now)


def pending_update(run_id: str, run_count: int, now: float) -> tuple[Row, Row]:
    """The run update of a flow run a serve process claimed (Pending, with a heartbeat), and
    its state row."""
    return transition(run_id, "flow", run_count, "PENDING", "Pending", None, now, heartbeat=now)
