"""`prefect.runtime.deployment` under the shim: facts about the current run's deployment.

headwater's runs, served ones included, expose no deployment facts to the running code yet,
so every field reads as Prefect's does outside a deployment: None, and `{}` for `parameters`.
As in Prefect, `PREFECT__RUNTIME__DEPLOYMENT__<FIELD>` (or `HEADWATER__RUNTIME__...`)
overrides a field, e.g. in tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headwater.runtime._fields import read

FIELDS: dict[str, Callable[[], Any]] = {
    "id": lambda: None, "flow_run_id": lambda: None, "name": lambda: None,
    "parameters": dict, "version": lambda: None,
}
__all__ = list(FIELDS)


def __getattr__(name: str) -> Any:
    return read("prefect.runtime.deployment", "DEPLOYMENT", FIELDS, name)


def __dir__() -> list[str]:
    return sorted(FIELDS)
