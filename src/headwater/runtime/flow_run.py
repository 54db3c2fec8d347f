"""Facts about the current flow run: `from headwater.runtime import flow_run; flow_run.name`.

Ids are strings (as in Prefect). Outside a run, ids and names are None, `tags` and
`parameters` empty, `run_count` 0.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from headwater.core.context import flow_run_var, task_run_var
from headwater.runtime._fields import read


def _run() -> Any:
    ctx = flow_run_var.get()
    return ctx.flow_run if ctx is not None else None


def _attr(name: str, default: Any = None) -> Any:
    run = _run()
    return getattr(run, name) if run is not None else default


def _text(value: UUID | None) -> str | None:
    """Run ids as strings, as Prefect's runtime gives them (they compare with API ids)."""
    return str(value) if value is not None else None


def _id() -> Any:
    run = _run()
    if run is not None:
        return _text(run.id)
    task_ctx = task_run_var.get()
    return _text(task_ctx.task_run.flow_run_id) if task_ctx is not None else None


_FIELDS = {
    "id": _id,
    "name": lambda: _attr("name"),
    "flow_name": lambda: _attr("flow_name"),
    "flow_version": lambda: _attr("flow_version"),
    "parameters": lambda: dict(_attr("parameters", {})),
    "tags": lambda: sorted(_attr("tags", ())),
    "parent_flow_run_id": lambda: _text(_attr("parent_flow_run_id")),
    "parent_task_run_id": lambda: _text(_attr("parent_task_run_id")),
    "run_count": lambda: _attr("run_count", 0),
    "scheduled_start_time": lambda: _attr("start_datetime"),
}


def __getattr__(name: str) -> Any:
    return read(__name__, "FLOW_RUN", _FIELDS, name)


def __dir__() -> list[str]:
    return sorted(_FIELDS)
