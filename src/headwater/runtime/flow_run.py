"""Facts about the current flow run: `from headwater.runtime import flow_run; flow_run.name`.

The fields (`FIELDS`) are Prefect's: ids are strings; outside a run ids, names and URLs are
None, `tags` and `parameters` empty, `run_count` 0 and `scheduled_start_time` now. Inside a
task run in another process the flow run's facts travel with the task. headwater runs have no
API server, so `api_url` and `ui_url` are None, and no work-pool job, so `job_variables` is
`{}` inside a run. `parent_task_run_id` is headwater's own extra (not in `FIELDS`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from headwater.core.context import flow_run_var, task_run_var
from headwater.runtime._fields import read, text


def _run() -> Any:
    ctx = flow_run_var.get()
    return ctx.flow_run if ctx is not None else None


def _attr(name: str, default: Any = None) -> Any:
    run = _run()
    return getattr(run, name) if run is not None else default


def _id() -> str | None:
    run = _run()
    if run is not None:
        return text(run.id)
    task_ctx = task_run_var.get()
    return text(task_ctx.task_run.flow_run_id) if task_ctx is not None else None


def _root_id() -> str | None:
    """The top-level flow run's id: the last of the cancel scope, which lists the run and its
    ancestors (a subflow is cancelled with any of them)."""
    ctx = flow_run_var.get()
    if ctx is None:
        return _id()
    scope = ctx.cancel_scope
    return text(scope[-1]) if scope else text(ctx.flow_run.id)


def _scheduled_start_time() -> datetime:
    start = _attr("start_datetime")
    return start if start is not None else datetime.now(timezone.utc)


def _inside(value: Callable[[], Any]) -> Callable[[], Any]:
    return lambda: value() if _run() is not None else None


FIELDS: dict[str, Callable[[], Any]] = {
    "id": _id,
    "tags": lambda: sorted(_attr("tags", ())),
    "scheduled_start_time": _scheduled_start_time,
    "name": lambda: _attr("name"),
    "flow_name": lambda: _attr("flow_name"),
    "parameters": lambda: dict(_attr("parameters", {})),
    "parent_flow_run_id": lambda: text(_attr("parent_flow_run_id")),
    "parent_deployment_id": lambda: None,
    "root_flow_run_id": _root_id,
    "run_count": lambda: _attr("run_count", 0),
    "api_url": lambda: None,
    "ui_url": lambda: None,
    "flow_version": lambda: _attr("flow_version"),
    "job_variables": _inside(dict),
}
_EXTRAS: dict[str, Callable[[], Any]] = {
    "parent_task_run_id": lambda: text(_attr("parent_task_run_id")),
}
__all__ = list(FIELDS)


def __getattr__(name: str) -> Any:
    return read(__name__, "FLOW_RUN", FIELDS, name, _EXTRAS)


def __dir__() -> list[str]:
    return sorted(FIELDS)
