"""Stored rows (dicts, or SQL result mappings) as the frozen views readers get: shared by
every store."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from headwater.store.base import (
    DependencyView,
    EventView,
    FlowRunView,
    LogView,
    TaskRunView,
    decode_json,
    to_uuid,
)


def _run_fields(row: Any) -> dict[str, Any]:
    return {
        "id": UUID(str(row["id"])),
        "name": row["name"],
        "parameters": decode_json(row["parameters"], {}),
        "tags": tuple(decode_json(row["tags"], [])),
        "created": row["created"],
        "state_type": row["state_type"],
        "state_name": row["state_name"],
        "state_message": row["state_message"],
        "state_timestamp": row["state_timestamp"],
        "start_time": row["start_time"],
        "end_time": row["end_time"],
        "run_count": row["run_count"] or 0,
        "result": row["result"],
    }


def flow_run_view(row: Any) -> FlowRunView:
    return FlowRunView(
        **_run_fields(row),
        flow_name=row["flow_name"],
        flow_version=row["flow_version"],
        parent_flow_run_id=to_uuid(row["parent_flow_run_id"]),
        parent_task_run_id=to_uuid(row["parent_task_run_id"]),
        heartbeat=row.get("heartbeat"),
        identity=row.get("identity"),
        entrypoint=row.get("entrypoint"),
    )


def task_run_view(row: Any) -> TaskRunView:
    return TaskRunView(
        **_run_fields(row),
        task_name=row["task_name"],
        task_key=row["task_key"],
        flow_run_id=to_uuid(row["flow_run_id"]),
        identity=row.get("identity"),
    )


def log_view(row: Any) -> LogView:
    return LogView(
        id=row["id"], flow_run_id=to_uuid(row["flow_run_id"]),
        task_run_id=to_uuid(row["task_run_id"]), logger=row["logger"], level=row["level"],
        message=row["message"], timestamp=row["timestamp"],
    )


def dependency_view(row: Any) -> DependencyView:
    return DependencyView(
        task_run_id=UUID(str(row["task_run_id"])),
        upstream_run_id=UUID(str(row["upstream_run_id"])),
        parameter=row["parameter"],
    )


def event_view(row: Any) -> EventView:
    return EventView(
        name=row["name"], resource=decode_json(row["resource"], {}),
        related=decode_json(row["related"], []), payload=decode_json(row["payload"], {}),
        flow_run_id=to_uuid(row["flow_run_id"]), task_run_id=to_uuid(row["task_run_id"]),
        timestamp=row["timestamp"],
    )
