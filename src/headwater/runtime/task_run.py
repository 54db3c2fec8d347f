"""Facts about the current task run: `from headwater.runtime import task_run; task_run.name`.

Ids are strings (as in Prefect). Outside a task run, ids and names are None, `tags` and
`parameters` empty, `run_count` 0.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from headwater.core.context import task_run_var
from headwater.runtime._fields import read


def _attr(name: str, default: Any = None) -> Any:
    ctx = task_run_var.get()
    return getattr(ctx.task_run, name) if ctx is not None else default


def _text(value: UUID | None) -> str | None:
    """Run ids as strings, as Prefect's runtime gives them (they compare with API ids)."""
    return str(value) if value is not None else None


_FIELDS = {
    "id": lambda: _text(_attr("id")),
    "name": lambda: _attr("name"),
    "task_name": lambda: _attr("task_name"),
    "flow_run_id": lambda: _text(_attr("flow_run_id")),
    "parameters": lambda: dict(_attr("parameters", {})),
    "tags": lambda: sorted(_attr("tags", ())),
    "run_count": lambda: _attr("run_count", 0),
}


def __getattr__(name: str) -> Any:
    return read(__name__, "TASK_RUN", _FIELDS, name)


def __dir__() -> list[str]:
    return sorted(_FIELDS)
