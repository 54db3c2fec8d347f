"""The serve loop: schedule ahead, claim due runs exactly once, run each in a subprocess.

(Not `serve.py`: the package exports the `serve` function, which a submodule of that name
would shadow.)

Every `poll_seconds` (0.2 s) a serve process:

1. makes the next `AHEAD` ticks of each deployment it serves into runs (state `Scheduled`, one
   row per deployment and tick: processes making the same tick make one run), and applies the
   catch-up policy to ticks missed while no process served them;
2. claims due runs (scheduled at or before now + `prefetch_seconds`) in one transaction, up to
   `limit` runs at once; the claim makes them `Pending`;
3. starts a subprocess per claimed run (`_child.py`), which loads the flow, waits for the run's
   time, and runs it under the claimed flow run's id;
4. watches its subprocesses: a cancel request is the child's to honour (its store writer sees
   it); one still running `cancel_grace_seconds` later is killed and its run ends `Cancelled`;
   a child that dies leaves its run `Crashed`; runs get heartbeats while their child starts;
5. now and then marks `Crashed` the runs of serve processes (or children) that died; the
   crashed runs of deployments with `resume_crashed=N` are made due again (at most N times
   per run), and the process that claims one resumes it (`headwater.resuming`): a run whose
   machine was lost resumes within `HEADWATER_CRASH_AFTER_SECONDS` + `crash_check_seconds`,
   one whose process died under a live serve process at once.

Catch-up policy: a tick is *missed* when it is more than `catchup_seconds` late (default 60)
while a later tick of the same deployment is due: it ends `Cancelled` named "Missed". The
latest due tick always runs. So after a night of downtime an hourly deployment runs once; pass
`catchup_seconds=6 * 3600` to run every tick of the last six hours.

SIGINT/SIGTERM: the loop stops claiming, waits up to `shutdown_grace_seconds` for running
children, then stops the rest (their runs end `Crashed`). A second signal skips the wait.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from headwater.deployments.child import Child, start_child
from headwater.deployments.schedules import Schedule
from headwater.engine.clock import Clock
from headwater.errors import StoreUnavailableError

if TYPE_CHECKING:
    from headwater.deployments.deployment import Deployment
    from headwater.store.base import RunStore
    from headwater.store.deployments import DeploymentView

AHEAD = 3  # scheduled runs made ahead per deployment (shown as Scheduled in `runs ls`)
STORE_RETRY_SECONDS = 2.0  # while the run store cannot be reached
MAX_CATCHUP_RUNS = 100  # missed ticks run at most, per deployment and step
logger = logging.getLogger("headwater.serve")


@dataclass
class ServeOptions:
    """How a serve loop behaves; every field has a default that suits one machine.

    Attributes:
        limit: most runs at once in this process (None: no limit).
        catchup_seconds: the catch-up window (see the module docstring).
        prefetch_seconds: claim runs this long before their time, so their process has
            started when the time comes.
        poll_seconds: how often to look for due runs.
        cancel_grace_seconds: after a cancel request, how long a run may take to stop by
            itself before its process is killed.
        shutdown_grace_seconds: on SIGINT/SIGTERM, how long running runs may take to finish.
        heartbeat_seconds: how often runs starting in a child get a heartbeat.
        crash_check_seconds: how often to mark Crashed the runs of processes that died.
    """

    limit: int | None = None
    catchup_seconds: float = 60.0
    prefetch_seconds: float = 1.0
    poll_seconds: float = 0.2
    cancel_grace_seconds: float = 10.0
    shutdown_grace_seconds: float = 30.0
    heartbeat_seconds: float = 5.0
    crash_check_seconds: float = 15.0
    extra_env: dict[str, str] = field(default_factory=dict)


class ServeLoop:
    """Serves deployments from one process. `run()` blocks; `step()` does one pass (tests).

    Args:
        deployments: what to serve.
        store: the run store (a SQL store: the runs' processes write to it too).
        options: see `ServeOptions`.
        clock: the time used for ticks and claims (tests pass a clock they move).
    """

    def __init__(
        self, deployments: Sequence[Deployment], *, store: RunStore,
        options: ServeOptions | None = None, clock: Clock | None = None,
    ) -> None:
        self.deployments = list(deployments)
        self.store = store
        self.options = options or ServeOptions()
        self.clock = clock or Clock()
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.views: dict[UUID, DeploymentView] = {}
        self.children: dict[UUID, Child] = {}
        self.finished: list[tuple[UUID, str | None]] = []  # (flow run id, final state name)
        self.stopping = False
        self._stop_now = False
        self._last_heartbeat = 0.0
        self._last_crash_check = 0.0

    # -- registration -----------------------------------------------------------------------
    def register(self) -> list[DeploymentView]:
        """Register every deployment in the store (create or update)."""
        from headwater.core._ids import uuid7

        now = self.clock.now()
        for deployment in self.deployments:
            view = self.store.register_deployment(deployment.spec(str(uuid7())), now=now)
            self.views[view.id] = view
        return list(self.views.values())

    # -- one pass -----------------------------------------------------------------------------
    def step(self) -> None:
        """One pass: schedule ahead, claim and start due runs, watch children, heartbeat."""
        now = self.clock.now()
        self._refresh_views()
        if not self.stopping:
            for view in list(self.views.values()):
                self.schedule(view, now)
            self._claim_and_start(now)
        self._watch_children()
        self._heartbeat(now)

    def _refresh_views(self) -> None:
        stored = {view.id: view for view in self.store.read_deployments()}
        for deployment_id in list(self.views):
            view = stored.get(deployment_id)
            if view is None:
                logger.warning("Deployment %r was deleted; no longer serving it.",
                               self.views[deployment_id].full_name)
                del self.views[deployment_id]
            else:
                self.views[deployment_id] = view

    def schedule(self, view: DeploymentView, now: float) -> list[UUID]:
        """Make runs of the ticks of `view` that are due or among the next `AHEAD`, that no
        process made yet; apply the catch-up policy to ticks missed in between."""
        if view.paused or not view.schedules:
            return []
        from headwater.core._ids import generate_slug, uuid7
        from headwater.store.deployments import NewDeploymentRun

        start = view.schedule_from if view.last_tick is None else max(
            view.schedule_from, view.last_tick)
        window = self.options.catchup_seconds
        wanted: dict[float, Schedule] = {}
        for data in view.schedules:
            schedule = Schedule.from_json(data)
            anchor = view.created
            latest = schedule.latest(start, now, anchor=anchor)
            if latest is not None:  # the latest due tick always runs
                wanted.setdefault(latest, schedule)
                for tick in schedule.ticks(max(start, now - window), now, anchor=anchor,
                                           limit=MAX_CATCHUP_RUNS):
                    wanted.setdefault(tick, schedule)
            # The next AHEAD ticks from now (not from the newest made: that would run away).
            for tick in schedule.ticks(max(view.schedule_from, now), float("inf"),
                                       anchor=anchor, limit=AHEAD):
                wanted.setdefault(tick, schedule)
        upcoming = sorted(t for t in wanted if t > now)[:AHEAD]
        ticks = [t for t in sorted(t for t in wanted if t <= now) + upcoming if t > start]
        if not ticks:
            return []
        runs = [NewDeploymentRun(str(uuid7()), generate_slug(), tick, tick,
                                 {**view.parameters, **wanted[tick].parameters})
                for tick in ticks]
        return self.store.create_deployment_runs(view.id, runs, now=now)

    def _claim_and_start(self, now: float) -> None:
        free = None if self.options.limit is None else self.options.limit - len(self.children)
        if (free is not None and free <= 0) or not self.views:
            return
        due_before = now + self.options.prefetch_seconds
        ids = list(self.views)
        waiting = self.store.read_deployment_runs(ids, limit=1)
        if not waiting or waiting[0].scheduled_time > due_before:
            return  # nothing due: a read, not a write transaction
        result = self.store.claim_deployment_runs(
            ids, due_before=due_before, now=now, claimed_by=self.name, limit=free,
            catchup_seconds=self.options.catchup_seconds)
        for run_id in result.missed:
            logger.warning("Flow run %s missed its time (catch-up window %gs): skipped.",
                           run_id, self.options.catchup_seconds)
        for run in result.claimed:
            view = self.views[run.deployment_id]
            wall_start = time.time() + max(0.0, run.scheduled_time - now)
            try:
                self.children[run.flow_run_id] = start_child(
                    run, view, store_url=self.store.url, start_at=wall_start,
                    extra_env=self.options.extra_env)
            except OSError as exc:  # no process could be started (limits, a bad interpreter)
                message = f"The serve process could not start a process for it: {exc}."
                self.store.end_flow_run(run.flow_run_id, state_type="CRASHED",
                                        state_name="Crashed", message=message, now=time.time())
                logger.error("Flow run %r (%s): %s", run.name, run.flow_run_id, message)
                continue
            logger.info("Started flow run %r (%s) of deployment %r.", run.name, run.flow_run_id,
                        view.full_name)

    # -- children -----------------------------------------------------------------------------
    def _watch_children(self) -> None:
        if not self.children:
            return
        asked = set(self.store.read_cancel_requests([str(i) for i in self.children]))
        grace = self.options.cancel_grace_seconds
        for run_id, child in list(self.children.items()):
            if str(run_id) in asked and child.cancel_seen is None:
                child.cancel_seen = time.monotonic()
                if child.waiting_to_start():  # no user code ran yet: stop it now
                    child.kill("Cancelled", "Cancelled before it started.")
            elif (child.cancel_seen is not None and child.outcome is None
                  and time.monotonic() - child.cancel_seen > grace):
                child.kill("Cancelled", f"Cancelled: the flow run did not stop within {grace:g} s "
                                        f"of the cancel request, so its process was killed.")
            if self._stop_now and child.outcome is None:
                child.kill("Crashed", "The serve process running it was stopped.")
            if child.done():
                self._finish(run_id, child)

    def _finish(self, run_id: UUID, child: Child) -> None:
        state, message = child.outcome or ("Crashed", None)
        if message is None:
            message = (f"The process running this flow run exited with code "
                       f"{child.process.returncode} before the run ended.")
        state_type = "CANCELLED" if state == "Cancelled" else "CRASHED"
        self.store.end_flow_run(run_id, state_type=state_type, state_name=state,
                                message=message, now=time.time())
        final = self.store.read_flow_run(run_id)
        logger.info("Flow run %r (%s) finished in state %s.", final.name, run_id,
                    final.state_name)
        self.finished.append((run_id, final.state_name))
        del self.children[run_id]
        if final.state_type == "CRASHED":
            self._resume_crashed()

    def _resume_crashed(self) -> None:
        """Make due again the crashed runs of deployments with `resume_crashed`: the next
        claim (by this serve process or another) resumes them from where they stopped."""
        for run_id in self.store.requeue_crashed_runs(list(self.views), now=self.clock.now()):
            logger.warning("Flow run %s crashed; it will be resumed from where it stopped.",
                           run_id)

    def _heartbeat(self, now: float) -> None:
        wall = time.monotonic()
        if wall - self._last_heartbeat >= self.options.heartbeat_seconds:
            self._last_heartbeat = wall
            from headwater.store.base import Batch

            if self.children:
                self.store.write_batch(Batch(heartbeats=tuple(map(str, self.children)),
                                             now=time.time()))
            self.store.touch_deployments(list(self.views), now=time.time(), served_by=self.name)
        if wall - self._last_crash_check >= self.options.crash_check_seconds:
            self._last_crash_check = wall
            from headwater import settings

            crashed = self.store.mark_crashed(
                heartbeat_before=time.time() - settings.crash_after_seconds(), now=time.time())
            for run_id in crashed:
                logger.warning("Flow run %s had stopped sending heartbeats: marked Crashed.",
                               run_id)
            self._resume_crashed()

    # -- running ------------------------------------------------------------------------------
    def run(self, *, install_signal_handlers: bool = True) -> None:
        """Register, then step every `poll_seconds` until stopped (SIGINT/SIGTERM or `stop`)."""
        previous = self._install_handlers() if install_signal_handlers else {}
        try:
            self.register()
            self._announce()
            grace_ends: float | None = None
            unavailable = False
            while True:
                started = time.monotonic()
                try:
                    self.step()
                    if unavailable:
                        logger.info("The run store is reachable again.")
                    unavailable = False
                except StoreUnavailableError as exc:  # a database restart must not stop serving
                    if not unavailable:
                        logger.error("%s Retrying every %gs; running flow runs go on.", exc,
                                     STORE_RETRY_SECONDS)
                    unavailable = True
                    time.sleep(STORE_RETRY_SECONDS)
                    continue
                if self.stopping:
                    if grace_ends is None:
                        grace_ends = started + self.options.shutdown_grace_seconds
                        if self.children:
                            logger.info("Stopping: waiting up to %gs for %d running flow "
                                        "run(s).", self.options.shutdown_grace_seconds,
                                        len(self.children))
                    if started >= grace_ends:
                        self._stop_now = True
                    if not self.children:
                        return
                time.sleep(max(0.0, self.options.poll_seconds - (time.monotonic() - started)))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self, *, now: bool = False) -> None:
        """Stop claiming runs; with `now`, also stop running ones at the next step."""
        self.stopping = True
        self._stop_now = self._stop_now or now

    def _install_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def on_signal(signum: int, frame: Any) -> None:
            if self.stopping:
                logger.info("Second signal: stopping running flow runs now.")
            self.stop(now=self.stopping)

        previous: dict[int, Any] = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
        return previous

    def _announce(self) -> None:
        from headwater.deployments.schedules import describe_schedules

        for view in self.views.values():
            paused = " (paused: only runs on demand)" if view.paused else ""
            logger.info("Serving deployment %r: %s%s. Run it now with: headwater deployments "
                        "run %r", view.full_name, describe_schedules(view.schedules), paused,
                        view.full_name)
        logger.info("Polling for runs every %gs; stop with Ctrl-C.", self.options.poll_seconds)
