"""The JSON the API returns, as pydantic models: they are the OpenAPI spec's schemas.

Times are seconds since the epoch (floats), ids are UUID text, durations are seconds.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    """Every error: what happened and what to do about it."""

    message: str = Field(description="What went wrong, and what to do next.")
    status: int = Field(description="The HTTP status code.")


class FlowRunOut(BaseModel):
    id: str
    name: str
    flow_name: str
    state_type: str | None
    state_name: str | None
    state_message: str | None
    created: float
    start_time: float | None
    end_time: float | None
    duration: float | None
    run_count: int
    tags: list[str]
    parent_flow_run_id: str | None
    parent_task_run_id: str | None
    subflows: int = Field(0, description="How many subflow runs it has (in lists only).")


class FlowRunDetailOut(FlowRunOut):
    parameters: dict[str, Any]
    result: str | None = Field(description="The final state's data, as JSON text or a repr.")
    flow_version: str | None
    heartbeat: float | None
    cancel_requested: bool
    change_token: str = Field(
        description="The run's token of `/api/changes?flow_run=`, read before the rest of this "
                    "answer: poll that and read the run again when the token differs.")


class FlowRunPageOut(BaseModel):
    items: list[FlowRunOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class CountsOut(BaseModel):
    total: int
    states: dict[str, int]


class HistogramOut(BaseModel):
    start: float
    end: float
    bucket_seconds: float
    buckets: list[dict[str, int]] = Field(description="Oldest first: state type -> runs.")


class TaskRunOut(BaseModel):
    id: str
    name: str
    task_name: str
    task_key: str
    flow_run_id: str | None
    state_type: str | None
    state_name: str | None
    state_message: str | None
    created: float
    start_time: float | None
    end_time: float | None
    duration: float | None
    run_count: int
    tags: list[str]


class TaskRunDetailOut(TaskRunOut):
    parameters: dict[str, Any] = Field(description="The task's inputs as recorded.")
    result: str | None
    cache_key: str | None = Field(description="The cache key of its result, when it had one.")


class TaskRunPageOut(BaseModel):
    items: list[TaskRunOut]
    next_cursor: str | None


class StateOut(BaseModel):
    id: int  # grows with insertion: pass the last one seen as `after_id` for the next page
    type: str
    name: str
    message: str | None
    timestamp: float
    run_count: int
    data: str | None


class TaskGroupOut(BaseModel):
    task_key: str
    task_name: str
    total: int
    states: dict[str, int]
    first_start: float | None
    last_end: float | None
    total_duration: float
    max_duration: float | None
    mean_duration: float | None


class TaskSummaryOut(BaseModel):
    total: int
    states: dict[str, int]
    tasks: list[TaskGroupOut]


class TimelineOut(BaseModel):
    run_start: float | None = Field(description="When the flow run started (or was created).")
    run_end: float | None = Field(description="When it ended; None while it runs.")
    window: list[float] = Field(description="[start, end] of the bars returned.")
    in_window: int = Field(description="How many task runs ran in the window.")
    bars: list[TaskRunOut] = Field(description="The first of them by start time.")
    truncated: bool = Field(description="More ran in the window than `bars` holds: zoom in.")
    change_token: str = Field(
        description="The run's token of `/api/changes?flow_run=`, read before the bars.")


class GraphNodeOut(BaseModel):
    id: str
    label: str
    kind: str = Field(description="task_run, task (a group of task runs) or flow_run.")
    state_type: str | None
    count: int = 1
    states: dict[str, int] = Field(default_factory=dict)


class GraphEdgeOut(BaseModel):
    source: str
    target: str
    count: int = 1


class GraphOut(BaseModel):
    grouped: bool = Field(description="True when nodes are tasks (many task runs each).")
    nodes: list[GraphNodeOut]
    edges: list[GraphEdgeOut]


class LogOut(BaseModel):
    id: int
    flow_run_id: str | None
    task_run_id: str | None
    task_run_name: str | None
    logger: str
    level: int
    level_name: str
    message: str
    timestamp: float


class LogPageOut(BaseModel):
    items: list[LogOut]
    last_id: int = Field(description="The largest id seen: pass as `after_id` to follow.")


class FlowOut(BaseModel):
    name: str
    runs: int
    last_created: float


class AssetOut(BaseModel):
    key: str
    properties: dict[str, Any]
    latest_status: str | None
    latest_time: float | None
    materializations: int
    last_seen: float


class MaterializationOut(BaseModel):
    key: str
    status: str
    timestamp: float
    metadata: dict[str, Any]
    materialized_by: str | None
    flow_run_id: str | None
    task_run_id: str | None
    upstream: list[str]


class AssetDetailOut(BaseModel):
    asset: AssetOut
    materializations: list[MaterializationOut]


class LineageOut(BaseModel):
    key: str
    depth: int | None
    upstream: list[str]
    downstream: list[str]
    edges: list[list[str]]


class ChangesOut(BaseModel):
    token: str = Field(description="Changes whenever something about the subject is committed.")


class CancelOut(BaseModel):
    id: str
    name: str
    message: str


class ResumeOut(BaseModel):
    id: str
    name: str
    message: str
