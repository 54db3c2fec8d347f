"""Resuming a flow run: which calls take the result their identity had in an earlier attempt.

A task run's identity in its flow run is its task's key and its call index: the n-th call of
that task in that flow run (`key#n`), and for `.map`, the element (`key#n.i`). A subflow's is
its flow's name and call index (`name#n`). Re-running the same flow body meets the same
identities in the same order, so an attempt can match each call to what the same call did
before. What breaks the rule is control flow that differs between attempts: a branch on the
time, on random numbers, or on data that changed. A call whose identity was recorded with
other parameters is a *mismatch*: resuming stops there (one log line) and every later call
runs as it would in a fresh run.

`ResumePlan.decide` is a pure decision made where the flow runs, per call; its answer travels
with the task-run request (`TaskRunRequest.resume`), so runs on other processes act on it too.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any, NamedTuple
from uuid import UUID

# `TaskRunRequest.resume` is None (a run as usual), the id of the earlier task run whose result
# this call takes, or RERUN: run it and do not take a cached result (resuming has stopped).
RERUN = "rerun"

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def comparable(parameters_json: str) -> str:
    """Parameters as JSON text, without the memory addresses of values stored as their repr
    (`<Thing object at 0x7f...>` differs in every process, not between attempts)."""
    return _ADDRESS.sub("", parameters_json)


class PriorCall(NamedTuple):
    """What one identity did in earlier attempts."""

    parameters: str  # comparable JSON of its parameters
    completed: UUID | None  # its last run that completed, if one did


class ResumePlan:
    """The earlier attempts of one flow run, by identity.

    Args:
        flow_run_id: the flow run being resumed.
        tasks: prior task runs, by identity.
        subflows: prior subflow runs, by identity: (parameters JSON, plan of the subflow).
        run_count: the flow run's attempts so far.
        name: its name.
        logger: where the one line about a mismatch goes (set by the engine).
    """

    def __init__(
        self, flow_run_id: UUID, name: str, run_count: int, tasks: dict[str, PriorCall],
        subflows: dict[str, tuple[str, ResumePlan]],
    ) -> None:
        self.flow_run_id = flow_run_id
        self.name = name
        self.run_count = run_count
        self.tasks = tasks
        self.subflows = subflows
        self.stopped_at: str | None = None
        self.logger: Any = None
        self._lock = threading.Lock()
        self._told: set[str] = set()

    def tell_once(self, topic: str) -> bool:
        """True the first time `topic` comes up (so a message about it is logged once)."""
        with self._lock:
            if topic in self._told:
                return False
            self._told.add(topic)
            return True

    def log(self, message: str, *args: Any) -> None:
        if self.logger is not None:
            self.logger.warning(message, *args)

    @property
    def completed(self) -> int:
        """How many identities completed in earlier attempts."""
        return sum(prior.completed is not None for prior in self.tasks.values())

    def decide(self, identity: str, parameters_json: str) -> UUID | str | None:
        """What the call at `identity`, with these parameters, does: see `RERUN`."""
        if self.stopped_at is not None:
            return RERUN
        prior = self.tasks.get(identity)
        if prior is None:
            return None  # a call earlier attempts never made: it runs
        if comparable(parameters_json) != prior.parameters:
            self._stop(identity)
            return RERUN
        return prior.completed

    def subflow(self, identity: str, parameters_json: str) -> ResumePlan | None:
        """The plan of the subflow run at `identity`, when it resumes too."""
        if self.stopped_at is not None:
            return None
        prior = self.subflows.get(identity)
        if prior is None:
            return None
        if comparable(parameters_json) != prior[0]:
            self._stop(identity)
            return None
        return prior[1]

    def _stop(self, identity: str) -> None:
        with self._lock:
            if self.stopped_at is not None:
                return
            self.stopped_at = identity
        if self.logger is not None:
            self.logger.warning(
                "Resuming stopped at %s: it was called with other parameters in the earlier "
                "attempt, so the flow took another path. It and every call after it run again.",
                identity,
            )


def plan_from_views(
    flow_run: Any, task_runs: Iterable[Any], subflows: Iterable[tuple[Any, ResumePlan]],
    encode: Any,
) -> ResumePlan:
    """A plan from stored views (`FlowRunView`, `TaskRunView`); `encode` turns parameters
    back into JSON text the way the store sink does."""
    tasks: dict[str, PriorCall] = {}
    for view in task_runs:  # oldest first: the last completed run of an identity wins
        identity = view.identity
        if identity is None:
            continue
        prior = tasks.get(identity)
        parameters = prior.parameters if prior is not None else comparable(
            encode(view.parameters))
        completed = prior.completed if prior is not None else None
        if view.state_type == "COMPLETED":
            completed = view.id
        tasks[identity] = PriorCall(parameters, completed)
    children: dict[str, tuple[str, ResumePlan]] = {}
    for view, plan in subflows:
        if view.identity is not None and view.identity not in children:
            children[view.identity] = (comparable(encode(view.parameters)), plan)
    # A run killed before its Running state reached the store still had its first attempt.
    return ResumePlan(flow_run.id, flow_run.name, max(flow_run.run_count, 1), tasks, children)


def decide_for(plan: ResumePlan, run: Any, task: Any, parameters: dict[str, Any],
               persisted: bool) -> UUID | str | None:
    """`TaskRunRequest.resume` for one call of a resuming flow run (where the flow runs).

    A call that completed before, but whose result was not persisted, runs again: said once
    per task, with how to persist it next time.
    """
    from headwater.events._json import encode_json

    decision = plan.decide(f"{run.task_key}#{run.call}", encode_json(parameters))
    if decision is None or decision.__class__ is str or persisted:
        return decision if persisted else None
    if plan.tell_once(task.name):
        plan.log(
            "Task %r completed in an earlier attempt of this flow run, but its results were "
            "not persisted, so its calls run again. To resume without re-running them, "
            "persist results: @task(persist_result=True), @flow(persist_result=True) or "
            "HEADWATER_RESULTS_PERSIST_BY_DEFAULT=true.", task.name,
        )
    return None
