"""The deployments library API: what the CLI and the UI call. Everything goes through `RunStore`.

    from headwater.deployments import api
    for summary in api.list_deployments():
        print(summary.deployment.full_name, summary.schedule, summary.next_runs[:1])
    api.run_deployment("etl/nightly", parameters={"full": True}, timeout=0)
    api.pause_deployment("etl/nightly")

Each function takes `store=` (a `RunStore`); without it, the store the settings name is opened
for the call and closed after it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from headwater.deployments.deployment import Deployment
    from headwater.store.base import FlowRunView, RunStore
    from headwater.store.deployments import DeploymentRunView, DeploymentView

RECENT_RUNS = 10


@dataclass(frozen=True)
class DeploymentSummary:
    """A deployment with what a list or a page shows about it.

    Attributes:
        deployment: the stored deployment.
        schedule: its schedules as text ("cron '0 3 * * *' (UTC)", "on demand only").
        next_runs: its runs waiting for their time (state Scheduled), soonest first.
        recent_runs: its newest flow runs (any state), newest first (only from
            `read_deployment`; empty in `list_deployments`).
    """

    deployment: DeploymentView
    schedule: str
    next_runs: list[DeploymentRunView]
    recent_runs: list[FlowRunView]


@contextmanager
def _opened(store: RunStore | None) -> Iterator[RunStore]:
    if store is not None:
        yield store
        return
    from headwater.store import using_store

    with using_store() as opened:
        yield opened


def register(deployment: Deployment, *, store: RunStore | None = None) -> DeploymentView:
    """Create or update a deployment in the store (see `RunStore.register_deployment`)."""
    from headwater.core._ids import uuid7

    with _opened(store) as opened:
        return opened.register_deployment(deployment.spec(str(uuid7())), now=time.time())


def list_deployments(*, store: RunStore | None = None, next_runs: int = 3) -> list[
        DeploymentSummary]:
    """Every deployment, with its schedule and next scheduled runs, sorted by name."""
    from headwater.deployments.schedules import describe_schedules

    with _opened(store) as opened:
        views = opened.read_deployments()
        upcoming = opened.read_deployment_runs(None, limit=None)
    by_deployment: dict[UUID, list[DeploymentRunView]] = {}
    for run in upcoming:
        by_deployment.setdefault(run.deployment_id, []).append(run)
    return [DeploymentSummary(view, describe_schedules(view.schedules),
                              by_deployment.get(view.id, [])[:next_runs], []) for view in views]


def read_deployment(name: str | UUID, *, store: RunStore | None = None) -> DeploymentSummary:
    """One deployment with its next runs and its recent runs.

    Raises:
        DeploymentNotFoundError: no deployment has that name.
    """
    from headwater.deployments.schedules import describe_schedules

    with _opened(store) as opened:
        view = opened.read_deployment(name)
        upcoming = opened.read_deployment_runs([view.id], limit=20)
        done = opened.read_deployment_runs(
            [view.id], statuses=("claimed", "missed", "cancelled"), limit=None)
        ids = tuple(str(run.flow_run_id) for run in done[-RECENT_RUNS:])
        recent: list[FlowRunView] = []
        if ids:
            from headwater.store.base import FlowRunFilter

            recent = opened.read_flow_runs(FlowRunFilter(ids=ids, limit=RECENT_RUNS))
    return DeploymentSummary(view, describe_schedules(view.schedules), upcoming, recent)


def pause_deployment(name: str | UUID, *, store: RunStore | None = None) -> DeploymentView:
    """Stop making scheduled runs (its waiting scheduled runs are deleted; runs on demand
    still run)."""
    with _opened(store) as opened:
        return opened.set_deployment_paused(name, True, now=time.time())


def resume_deployment(name: str | UUID, *, store: RunStore | None = None) -> DeploymentView:
    """Make scheduled runs again, from now on."""
    with _opened(store) as opened:
        return opened.set_deployment_paused(name, False, now=time.time())


def delete_deployment(name: str | UUID, *, store: RunStore | None = None) -> DeploymentView:
    """Delete a deployment (the history of its runs stays)."""
    with _opened(store) as opened:
        return opened.delete_deployment(name, now=time.time())


def run_deployment(
    name: str | UUID, parameters: dict[str, Any] | None = None, *,
    scheduled_time: datetime | float | None = None, flow_run_name: str | None = None,
    timeout: float | None = None, poll_interval: float = 0.2, store: RunStore | None = None,
) -> FlowRunView:
    """Ask for a run of a deployment now (or at `scheduled_time`); a serve process serving it
    picks it up. Prefect's `run_deployment`.

    Args:
        name: `flow/deployment`, its id, or its bare name when unique.
        parameters: overrides of the deployment's parameters.
        scheduled_time: when to run it (default now).
        flow_run_name: the run's name (default a random one).
        timeout: seconds to wait for the run to end: 0 returns at once, None waits until it
            ends (as Prefect).
        poll_interval: how often to look while waiting.

    Returns:
        The flow run: as created (timeout 0), or as it ended (or is, when the timeout passed).

    Raises:
        DeploymentNotFoundError: no deployment has that name.
    """
    import json

    from headwater.core._ids import generate_slug, uuid7
    from headwater.errors import DeploymentError
    from headwater.store.base import FINAL_STATE_TYPES
    from headwater.store.deployments import NewDeploymentRun

    when = time.time() if scheduled_time is None else (
        scheduled_time.timestamp() if isinstance(scheduled_time, datetime) else scheduled_time)
    with _opened(store) as opened:
        view = opened.read_deployment(name)
        values = {**view.parameters, **(parameters or {})}
        try:
            values = json.loads(json.dumps(values))
        except (TypeError, ValueError) as exc:
            raise DeploymentError(
                f"Run parameters must be JSON values: {exc}.", option="parameters",
                value=parameters,
            ) from exc
        run_id = str(uuid7())
        opened.create_deployment_runs(view.id, [NewDeploymentRun(
            run_id, flow_run_name or generate_slug(), when, None, values)], now=time.time())
        run = opened.read_flow_run(run_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        while run.state_type not in FINAL_STATE_TYPES and (
                deadline is None or time.monotonic() < deadline):
            time.sleep(poll_interval)
            run = opened.read_flow_run(run_id)
        return run
