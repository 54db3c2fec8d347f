"""`prefect.runtime.deployment` under the shim: facts about the current run's deployment.

headwater's runs, served ones included, expose no deployment facts to the running code yet,
so every field reads as Prefect's does outside a deployment: None, and `{}` for `parameters`.
"""

from __future__ import annotations

from typing import Any

FIELDS: dict[str, Any] = {
    "id": None, "name": None, "version": None, "flow_run_id": None, "parameters": {},
}


def __getattr__(name: str) -> Any:
    if name in FIELDS:
        value = FIELDS[name]
        return dict(value) if isinstance(value, dict) else value
    raise AttributeError(
        f"prefect.runtime.deployment has no attribute {name!r}. Available: "
        f"{', '.join(sorted(FIELDS))}."
    )


def __dir__() -> list[str]:
    return sorted(FIELDS)
