"""Task runners: where submitted task runs execute.

`ThreadPoolTaskRunner` (the default) and `ProcessPoolTaskRunner` are here; `DaskTaskRunner`
lives in `headwater.runners.dask` (install the `dask` extra) and `RayTaskRunner` in
`headwater.runners.ray` (the `ray` extra).
"""

from __future__ import annotations

from typing import Any

from headwater.runners.base import TaskRunner
from headwater.runners.thread import ThreadPoolTaskRunner

__all__ = ["ProcessPoolTaskRunner", "TaskRunner", "ThreadPoolTaskRunner"]


def __getattr__(name: str) -> Any:
    if name == "ProcessPoolTaskRunner":
        from headwater.runners.process import ProcessPoolTaskRunner

        return ProcessPoolTaskRunner
    if name == "DaskTaskRunner":
        from headwater.runners.dask import DaskTaskRunner

        return DaskTaskRunner
    if name == "RayTaskRunner":
        from headwater.runners.ray import RayTaskRunner

        return RayTaskRunner
    raise AttributeError(f"module 'headwater.runners' has no attribute {name!r}")
