"""Deployments and their runs in the run store: the views, and the `RunStore` methods for them.

A deployment is a flow a serve process can run (its entrypoint, schedules and parameters). Each
run of it is a `deployment_runs` row plus a `flow_runs` row that exists from the moment the run
is scheduled (state `Scheduled`), so `headwater runs ls` shows what is coming. A serve process
claims due runs atomically (status `scheduled` -> `claimed`), and the engine in the process it
starts adopts the flow run's id. Ticks are unique per deployment and tick time: two serve
processes making the same tick make one run.

Statuses of a deployment run: `scheduled` (waiting), `claimed` (a serve process took it),
`missed` (no serve process started it in time and a later tick ran instead: see
`claim_deployment_runs`), `cancelled` (cancelled before any process took it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

DEPLOYMENT_STATUSES = ("scheduled", "claimed", "missed", "cancelled")
MISSED_MESSAGE = (
    "Missed: no serve process started this run within {window:g} s of its scheduled time, and "
    "a later run of the deployment was due; only the latest missed run runs (catch-up window "
    "{window:g} s)."
)
CANCELLED_MESSAGE = "Cancelled before a serve process started it."


@dataclass(frozen=True)
class DeploymentSpec:
    """What `register_deployment` stores (JSON-safe values).

    Attributes:
        id: the id for a new deployment (an existing one keeps its own).
        name, flow_name: the deployment is `flow_name/name`, unique in the store.
        entrypoint: `/absolute/path/file.py:function`.
        working_dir: the folder runs start in.
        schedules: `Schedule.to_json()` of each schedule.
        parameters: default parameters of its runs.
        tags, description, version: shown with it; tags go on its flow runs.
        paused: True/False to set, None to keep what is stored (False for a new one).
        concurrency_limit: at most this many runs at once (None: no limit).
        resume_crashed: a run that crashes is resumed by a serve process up to this many
            times (0: never).
    """

    id: str
    name: str
    flow_name: str
    entrypoint: str
    working_dir: str | None = None
    schedules: tuple[dict[str, Any], ...] = ()
    parameters: dict[str, Any] | None = None
    tags: tuple[str, ...] = ()
    description: str | None = None
    version: str | None = None
    paused: bool | None = None
    concurrency_limit: int | None = None
    resume_crashed: int = 0


@dataclass(frozen=True)
class DeploymentView:
    """One stored deployment.

    Attributes:
        full_name: `flow_name/name`, how commands name it.
        schedule_from: ticks after this time are made (its registration, or its last resume).
        last_tick: the newest tick already made into a run (None: none yet).
        last_served: when a serve process serving it last said it was alive (None: never).
        served_by: which serve process that was (`host:pid`).
    """

    id: UUID
    name: str
    flow_name: str
    entrypoint: str
    working_dir: str | None
    schedules: list[dict[str, Any]]
    parameters: dict[str, Any]
    tags: tuple[str, ...]
    description: str | None
    version: str | None
    paused: bool
    concurrency_limit: int | None
    created: float
    updated: float
    schedule_from: float
    last_tick: float | None
    last_served: float | None
    served_by: str | None
    resume_crashed: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"


@dataclass(frozen=True)
class NewDeploymentRun:
    """A run to create for a deployment (ids and names are made by the caller).

    Attributes:
        flow_run_id: the id its flow run will have.
        name: the flow run's name.
        scheduled_time: when it is due.
        tick: the schedule's time for a scheduled run; None for a run on demand.
        parameters: the run's parameters (the deployment's, with overrides).
    """

    flow_run_id: str
    name: str
    scheduled_time: float
    tick: float | None
    parameters: dict[str, Any]


@dataclass(frozen=True)
class DeploymentRunView:
    """One run of a deployment, with its flow run's name and state."""

    flow_run_id: UUID
    deployment_id: UUID
    name: str
    tick: float | None
    scheduled_time: float
    status: str
    claimed_by: str | None
    claimed_at: float | None
    parameters: dict[str, Any]
    state_type: str | None
    state_name: str | None
    resumes: int = 0  # times it was made due again after crashing (`resume_crashed`)


@dataclass(frozen=True)
class ClaimResult:
    """What `claim_deployment_runs` did.

    Attributes:
        claimed: the runs now owned by the caller, soonest first.
        missed: flow run ids ended `Cancelled` (named "Missed") by the catch-up policy.
    """

    claimed: list[DeploymentRunView]
    missed: list[UUID]


class DeploymentMethods:
    """The `RunStore` methods for deployments; `RunStore` inherits them."""

    def register_deployment(self, spec: DeploymentSpec, *, now: float) -> DeploymentView:
        """Create or update the deployment `spec.flow_name/spec.name`.

        An existing one keeps its id, creation time and (unless `spec.paused` says) its paused
        flag. If its schedules changed, its runs not yet claimed from the old schedules are
        deleted and ticks start again after `now`.

        Returns:
            The deployment as stored.
        """
        raise NotImplementedError

    def read_deployments(self) -> list[DeploymentView]:
        """Every deployment, sorted by `flow_name/name`."""
        raise NotImplementedError

    def read_deployment(self, name: str | UUID) -> DeploymentView:
        """One deployment, by `flow_name/name`, by id, or by its bare name when that is unique.

        Raises:
            DeploymentNotFoundError: nothing matches (the message lists what exists).
        """
        from headwater.errors import DeploymentNotFoundError

        text = str(name).strip()
        found = self.read_deployments()
        for view in found:
            if text in (view.full_name, str(view.id)):
                return view
        bare = [view for view in found if view.name == text]
        if len(bare) == 1:
            return bare[0]
        known = ", ".join(repr(v.full_name) for v in found[:10]) or "none yet"
        hint = (f"{len(bare)} deployments are named {text!r}: write FLOW/NAME. "
                if len(bare) > 1 else "")
        raise DeploymentNotFoundError(
            f"No deployment is named {text!r}. {hint}Known deployments: {known}. List them with "
            f"`headwater deployments ls`; a deployment exists once `flow.serve(...)` or "
            f"`headwater serve` has registered it.",
            name=text,
        )

    def set_deployment_paused(
        self, name: str | UUID, paused: bool, *, now: float
    ) -> DeploymentView:
        """Pause or resume a deployment's schedules.

        Pausing deletes its scheduled runs not yet claimed (runs asked for on demand stay);
        resuming makes ticks again from `now` on (the ticks of the pause are not caught up).

        Raises:
            DeploymentNotFoundError: no deployment has that name.
        """
        raise NotImplementedError

    def delete_deployment(self, name: str | UUID, *, now: float) -> DeploymentView:
        """Delete a deployment: its scheduled runs not yet claimed are deleted, its runs on
        demand not yet claimed end Cancelled; the history of its other runs stays.

        Raises:
            DeploymentNotFoundError: no deployment has that name.
        """
        raise NotImplementedError

    def create_deployment_runs(
        self, deployment_id: UUID | str, runs: Sequence[NewDeploymentRun], *, now: float
    ) -> list[UUID]:
        """Create runs of a deployment, each with its flow run in state `Scheduled`.

        A scheduled run whose tick already has a run is skipped (so serve processes making the
        same ticks make one run each); scheduled runs of a paused or deleted deployment are
        skipped, runs on demand (tick None) of a paused one are not.

        Returns:
            The flow run ids created.
        """
        raise NotImplementedError

    def read_deployment_runs(
        self, deployment_ids: Sequence[UUID | str] | None = None, *,
        statuses: Sequence[str] = ("scheduled",), limit: int | None = 20,
    ) -> list[DeploymentRunView]:
        """Runs of these deployments (None: all), with the given statuses, soonest first."""
        raise NotImplementedError

    def claim_deployment_runs(
        self, deployment_ids: Sequence[UUID | str], *, due_before: float, now: float,
        claimed_by: str, limit: int | None, catchup_seconds: float,
    ) -> ClaimResult:
        """Take the due runs of these deployments, atomically: each run is claimed by exactly
        one caller, however many serve processes ask at once (`FOR UPDATE SKIP LOCKED` on
        PostgreSQL, a `BEGIN IMMEDIATE` transaction on SQLite).

        Claimed runs' flow runs become `Pending`, with a heartbeat at `now` (from then on the
        claimer heartbeats them, or they are marked Crashed). Before claiming, the catch-up
        policy: a scheduled run more than `catchup_seconds` late when a later tick of its
        deployment is also due is *missed*: it ends Cancelled, named "Missed", and never runs.
        Runs with a cancel request end Cancelled instead of being claimed.

        Args:
            deployment_ids: the deployments the caller serves.
            due_before: claim runs scheduled at or before this time (now plus a prefetch).
            now: the time of the claim.
            claimed_by: who claims (`host:pid:...`).
            limit: claim at most this many (None: all due).
            catchup_seconds: the catch-up window.
        """
        raise NotImplementedError

    def end_flow_run(
        self, run_id: UUID | str, *, state_type: str, state_name: str, message: str,
        now: float,
    ) -> bool:
        """End a flow run that has not ended yet in a final state, with its unfinished task
        runs (what a serve process does for a run whose process it killed or lost).

        Returns:
            True if the run was changed; False if it had already ended (or does not exist).
        """
        raise NotImplementedError

    def requeue_crashed_runs(
        self, deployment_ids: Sequence[UUID | str], *, now: float
    ) -> list[UUID]:
        """Make the crashed runs of these deployments due again, to be resumed, if their
        deployment resumes crashed runs (`resume_crashed`) and they were resumed fewer times
        than that. Each run is made due once, however many serve processes ask at once; the
        serve process that claims it resumes it (`headwater.resuming`).

        Returns:
            The flow run ids made due again.
        """
        raise NotImplementedError

    def touch_deployments(
        self, deployment_ids: Sequence[UUID | str], *, now: float, served_by: str
    ) -> None:
        """Record that a serve process serving these deployments is alive."""
        raise NotImplementedError

    def _cancel_unclaimed(self, run_id: str, now: float) -> None:
        """If `run_id` is a deployment run no process has claimed, end it Cancelled now."""
        raise NotImplementedError
