"""Deployments: flows run on schedules and on demand, recorded in the run store; no server.

    from headwater import flow
    from headwater.deployments import serve, Cron

    @flow
    def etl(full: bool = False) -> None: ...

    etl.serve(name="nightly", cron="0 3 * * *")              # blocks, like Prefect's
    serve(etl.to_deployment("hourly", interval=3600),         # several deployments at once
          etl.to_deployment("full", schedule=Cron("0 4 * * sun"), parameters={"full": True}))

Any number of serve processes, on one machine (SQLite) or many (PostgreSQL), may serve the same
deployments: every tick runs exactly once. `headwater deployments ...` lists, pauses, resumes,
deletes and runs them; `headwater serve file.py:flow --cron ...` serves from a shell.

Importing this package is cheap (schedule libraries load when a schedule is built); it
registers `Flow.serve` and `Flow.to_deployment` with the model (`headwater.core.seam`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from headwater.core.seam import register_deployer

if TYPE_CHECKING:
    from headwater.core.flows import Flow
    from headwater.deployments.api import delete_deployment as delete_deployment
    from headwater.deployments.api import list_deployments as list_deployments
    from headwater.deployments.api import pause_deployment as pause_deployment
    from headwater.deployments.api import read_deployment as read_deployment
    from headwater.deployments.api import resume_deployment as resume_deployment
    from headwater.deployments.api import run_deployment as run_deployment
    from headwater.deployments.deployment import Deployment as Deployment
    from headwater.deployments.schedules import Cron as Cron
    from headwater.deployments.schedules import Interval as Interval
    from headwater.deployments.schedules import RRule as RRule
    from headwater.deployments.schedules import Schedule as Schedule
    from headwater.deployments.serve_loop import ServeLoop as ServeLoop
    from headwater.deployments.serve_loop import ServeOptions as ServeOptions
    from headwater.deployments.serving import serve as serve

_PUBLIC_API = {
    "Deployment": "headwater.deployments.deployment",
    "Cron": "headwater.deployments.schedules",
    "Interval": "headwater.deployments.schedules",
    "RRule": "headwater.deployments.schedules",
    "Schedule": "headwater.deployments.schedules",
    "ServeLoop": "headwater.deployments.serve_loop",
    "ServeOptions": "headwater.deployments.serve_loop",
    "serve": "headwater.deployments.serving",
    "delete_deployment": "headwater.deployments.api",
    "list_deployments": "headwater.deployments.api",
    "pause_deployment": "headwater.deployments.api",
    "read_deployment": "headwater.deployments.api",
    "resume_deployment": "headwater.deployments.api",
    "run_deployment": "headwater.deployments.api",
}
__all__ = sorted([*_PUBLIC_API, "in_served_run", "loading_flows", "mark_served_run"])

_served_run = False
_loading = 0


def mark_served_run() -> None:
    """This process runs one deployment run (a serve loop started it): `serve()` called by the
    flow's file while it is imported returns at once instead of serving again."""
    global _served_run
    _served_run = True


@contextmanager
def loading_flows() -> Iterator[None]:
    """While a file is imported to find its flows (`headwater serve file.py:flow`), a
    `my_flow.serve(...)` at its top level returns at once instead of serving."""
    global _loading
    _loading += 1
    try:
        yield
    finally:
        _loading -= 1


def in_served_run() -> bool:
    """Whether `serve()` should return at once: this process runs one deployment run for a
    serve loop, or a file is being imported to find its flows."""
    return _served_run or _loading > 0


def __getattr__(name: str) -> Any:
    module = _PUBLIC_API.get(name)
    if module is None:
        raise AttributeError(f"module 'headwater.deployments' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


class _Deployer:
    """What `Flow.to_deployment` and `Flow.serve` call (through `headwater.core.seam`)."""

    def to_deployment(self, flow: Flow[..., Any], name: str, options: dict[str, Any]) -> Any:
        from headwater.deployments.deployment import to_deployment

        return to_deployment(flow, name, **options)

    def serve(self, flow: Flow[..., Any], name: str | None, options: dict[str, Any]) -> None:
        from headwater.deployments.serving import serve_flow

        serve_flow(flow, name, options)


register_deployer(_Deployer())
