"""Shared machinery of `headwater.runtime.flow_run` / `task_run`: lookups with env overrides."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import Any


def read(module: str, prefix: str, fields: dict[str, Callable[[], Any]], name: str,
         extras: dict[str, Callable[[], Any]] | None = None) -> Any:
    """The value of a runtime field, or its `HEADWATER__RUNTIME__<PREFIX>__<NAME>` override
    (under the Prefect shim, `PREFECT__RUNTIME__<PREFIX>__<NAME>` too).

    An override is cast to the type of the real value (bool, int, float, str, or a datetime
    from ISO 8601); one for a field whose value is None stays a string.
    """
    override = os.environ.get(f"HEADWATER__RUNTIME__{prefix}__{name.upper()}")
    if override is None:
        override = os.environ.get(f"PREFECT__RUNTIME__{prefix}__{name.upper()}")
    getter = fields.get(name) or (extras or {}).get(name)
    if getter is None:
        if override is not None:
            return override
        raise AttributeError(
            f"{module} has no attribute {name!r}. Available: {', '.join(sorted(fields))}."
        )
    value = getter()
    if override is None:
        return value
    if isinstance(value, bool):
        return override.strip().lower() == "true"
    if isinstance(value, datetime):
        parsed = datetime.fromisoformat(override)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=value.tzinfo)
    if isinstance(value, (int, float, str)) or value is None:
        return type(value)(override) if value is not None else override
    raise ValueError(
        f"{module}.{name} cannot be overridden with an environment variable (its value is a "
        f"{type(value).__name__}). Use monkeypatch in tests instead."
    )


def text(value: Any) -> str | None:
    """Run ids as strings, as Prefect's runtime gives them (they compare with API ids)."""
    return str(value) if value is not None else None
