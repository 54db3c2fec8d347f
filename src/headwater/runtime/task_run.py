"""Facts about the current task run: `from headwater.runtime import task_run; task_run.name`.

The fields (`FIELDS`) are Prefect's: ids are strings; outside a task run ids, names and URLs
are None, `tags` and `parameters` empty, `run_count` 0. headwater runs have no API server, so
`api_url` and `ui_url` are None. `flow_run_id` is headwater's own extra (not in `FIELDS`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headwater.core.context import task_run_var
from headwater.runtime._fields import read, text


def _attr(name: str, default: Any = None) -> Any:
    ctx = task_run_var.get()
    return getattr(ctx.task_run, name) if ctx is not None else default


FIELDS: dict[str, Callable[[], Any]] = {
    "id": lambda: text(_attr("id")),
    "tags": lambda: sorted(_attr("tags", ())),
    "name": lambda: _attr("name"),
    "parameters": lambda: dict(_attr("parameters", {})),
    "run_count": lambda: _attr("run_count", 0),
    "task_name": lambda: _attr("task_name"),
    "api_url": lambda: None,
    "ui_url": lambda: None,
}
_EXTRAS: dict[str, Callable[[], Any]] = {
    "flow_run_id": lambda: text(_attr("flow_run_id")),
}
__all__ = list(FIELDS)


def __getattr__(name: str) -> Any:
    return read(__name__, "TASK_RUN", FIELDS, name, _EXTRAS)


def __dir__() -> list[str]:
    return sorted(FIELDS)
