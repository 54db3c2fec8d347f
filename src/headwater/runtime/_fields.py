"""Shared machinery of `headwater.runtime.flow_run` / `task_run`: lookups with env overrides."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any


def read(module: str, prefix: str, fields: dict[str, Callable[[], Any]], name: str) -> Any:
    """The value of a runtime field, or its `HEADWATER__RUNTIME__<PREFIX>__<NAME>` override.

    An override is cast to the type of the real value (bool, int, float or str).
    """
    override = os.environ.get(f"HEADWATER__RUNTIME__{prefix}__{name.upper()}")
    if name not in fields:
        if override is not None:
            return override
        raise AttributeError(
            f"{module} has no attribute {name!r}. Available: {', '.join(sorted(fields))}."
        )
    value = fields[name]()
    if override is None:
        return value
    if isinstance(value, bool):
        return override.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(value, (int, float, str)) or value is None:
        return type(value)(override) if value is not None else override
    raise ValueError(
        f"{module}.{name} cannot be overridden with an environment variable (its value is a "
        f"{type(value).__name__}). Use monkeypatch in tests instead."
    )
