"""Run objects: one per flow or task run, kept up to date by the engine.

Hooks and `retry_condition_fn` receive them, as in Prefect (`(task, task_run, state)`).
The durable history lives in the event sink; these objects hold only the current facts.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from headwater.core.states import FINAL_TYPES, Pending, State, StateType

if TYPE_CHECKING:
    from uuid import UUID

_RUNNING = StateType.RUNNING

NOT_STARTED = Pending()  # shared: a run's state before the engine records its first one


class _Run:
    __slots__ = (
        "end_time",
        "id",
        "name",
        "parameters",
        "run_count",
        "start_time",
        "state",
        "tags",
        "total_run_time",
    )

    def __init__(
        self, id: UUID, name: str, parameters: dict[str, Any], tags: frozenset[str]
    ) -> None:
        self.id = id
        self.name = name
        self.parameters = parameters
        self.tags = tags
        self.state: State = NOT_STARTED
        self.run_count = 0
        self.start_time: float | None = None
        self.end_time: float | None = None
        self.total_run_time = 0.0

    @property
    def state_name(self) -> str:
        return self.state.name

    @property
    def state_type(self) -> str:
        return self.state.type.value

    @property
    def start_datetime(self) -> datetime | None:
        if self.start_time is None:
            return None
        return datetime.fromtimestamp(self.start_time, tz=timezone.utc)

    def record_state(self, state: State) -> None:
        """Update counters the way Prefect does: each RUNNING-type state is one more attempt.
        (Three times per task run: type checks by identity, no predicate calls.)"""
        now = state.timestamp_s
        previous = self.state
        if previous.type is _RUNNING:
            self.total_run_time += now - previous.timestamp_s
        kind = state.type
        if kind is _RUNNING:
            self.run_count += 1
            if self.start_time is None:
                self.start_time = now
        elif kind in FINAL_TYPES:
            self.end_time = now
        state.state_details.run_count = self.run_count
        self.state = state

    @property
    def duration(self) -> float:
        """Seconds spent running so far (across attempts)."""
        extra = time.time() - self.state.timestamp_s if self.state.is_running() else 0.0
        return self.total_run_time + extra

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A run pickled by an earlier version (its slots as a dict; None for not started)."""
        for name, value in state.items():
            setattr(self, name, NOT_STARTED if name == "state" and value is None else value)


class FlowRun(_Run):
    """One run of a flow."""

    __slots__ = ("flow_name", "flow_version", "parent_flow_run_id", "parent_task_run_id")

    def __init__(
        self,
        id: UUID,
        name: str,
        flow_name: str,
        flow_version: str | None,
        parameters: dict[str, Any],
        tags: frozenset[str],
        parent_flow_run_id: UUID | None = None,
        parent_task_run_id: UUID | None = None,
    ) -> None:
        # _Run's fields set here rather than through super().__init__: one frame less per run.
        self.id = id
        self.name = name
        self.parameters = parameters
        self.tags = tags
        self.state = NOT_STARTED
        self.run_count = 0
        self.start_time = None
        self.end_time = None
        self.total_run_time = 0.0
        self.flow_name = flow_name
        self.flow_version = flow_version
        self.parent_flow_run_id = parent_flow_run_id
        self.parent_task_run_id = parent_task_run_id

    # A run travels to other processes with its request (and a task run back with its
    # outcome) as its fields, rebuilt without a dict or a `setattr` call per field; "not started
    # yet" stays recognisable there (the engine tells it by identity).
    def __reduce__(self) -> tuple[Any, ...]:
        state = self.state
        return (_flow_run, (self.id, self.name, self.flow_name, self.flow_version,
                            self.parameters, self.tags, self.parent_flow_run_id,
                            self.parent_task_run_id, None if state is NOT_STARTED else state,
                            self.run_count, self.start_time, self.end_time,
                            self.total_run_time))

    def __repr__(self) -> str:
        return f"FlowRun(id={self.id!s}, name={self.name!r}, state={self.state!s})"


class TaskRun(_Run):
    """One run of a task."""

    __slots__ = ("call", "flow_run_id", "task_key", "task_name")

    def __init__(
        self,
        id: UUID,
        name: str,
        task_name: str,
        task_key: str,
        flow_run_id: UUID | None,
        parameters: dict[str, Any],
        tags: frozenset[str],
        call: int | str | None = None,
    ) -> None:
        # _Run's fields set here rather than through super().__init__: one frame less per run.
        self.id = id
        self.name = name
        self.parameters = parameters
        self.tags = tags
        self.state = NOT_STARTED
        self.run_count = 0
        self.start_time = None
        self.end_time = None
        self.total_run_time = 0.0
        self.task_name = task_name
        self.task_key = task_key
        self.flow_run_id = flow_run_id
        self.call = call  # its place among its task's calls in the flow run: n, or "n.i"

    @property
    def identity(self) -> str | None:
        """`task_key#n` (or `task_key#n.i` for a mapped element): the same call in every
        attempt of its flow run. None outside a flow run."""
        return None if self.call is None else f"{self.task_key}#{self.call}"

    def __reduce__(self) -> tuple[Any, ...]:  # as FlowRun's: once per run each way, on Ray
        state = self.state
        return (_task_run, (self.id, self.name, self.task_name, self.task_key,
                            self.flow_run_id, self.parameters, self.tags, self.call,
                            None if state is NOT_STARTED else state, self.run_count,
                            self.start_time, self.end_time, self.total_run_time))

    def __repr__(self) -> str:
        return f"TaskRun(id={self.id!s}, name={self.name!r}, state={self.state!s})"


_new = object.__new__


def _flow_run(
    id: UUID, name: str, flow_name: str, flow_version: str | None,
    parameters: dict[str, Any], tags: frozenset[str], parent_flow_run_id: UUID | None,
    parent_task_run_id: UUID | None, state: State | None, run_count: int,
    start_time: float | None, end_time: float | None, total_run_time: float,
) -> FlowRun:
    """A flow run as `FlowRun.__reduce__` sent it."""
    run = _new(FlowRun)
    run.id = id
    run.name = name
    run.flow_name = flow_name
    run.flow_version = flow_version
    run.parameters = parameters
    run.tags = tags
    run.parent_flow_run_id = parent_flow_run_id
    run.parent_task_run_id = parent_task_run_id
    run.state = NOT_STARTED if state is None else state
    run.run_count = run_count
    run.start_time = start_time
    run.end_time = end_time
    run.total_run_time = total_run_time
    return run


def _task_run(
    id: UUID, name: str, task_name: str, task_key: str, flow_run_id: UUID | None,
    parameters: dict[str, Any], tags: frozenset[str], call: int | str | None,
    state: State | None, run_count: int, start_time: float | None, end_time: float | None,
    total_run_time: float,
) -> TaskRun:
    """A task run as `TaskRun.__reduce__` sent it."""
    run = _new(TaskRun)
    run.id = id
    run.name = name
    run.task_name = task_name
    run.task_key = task_key
    run.flow_run_id = flow_run_id
    run.parameters = parameters
    run.tags = tags
    run.call = call
    run.state = NOT_STARTED if state is None else state
    run.run_count = run_count
    run.start_time = start_time
    run.end_time = end_time
    run.total_run_time = total_run_time
    return run
