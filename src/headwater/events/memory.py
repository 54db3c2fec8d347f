"""A sink that keeps every record in a list, with readers that tests and tools use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar
from uuid import UUID

from headwater.core.states import State
from headwater.events.base import EventSink
from headwater.events.records import (
    DependencyAdded,
    FlowRunCreated,
    LogEmitted,
    Record,
    RunRenamed,
    StateChanged,
    TaskRunCreated,
)

R = TypeVar("R")


class MemorySink(EventSink):
    """Keeps records in memory, in emission order. Thread-safe: `list.append` is atomic."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        # Bound method lookup once: emit is the hot path.
        self.emit = self.records.append  # type: ignore[method-assign, assignment]

    def emit(self, record: Record) -> None:  # replaced per instance in __init__
        self.records.append(record)

    def clear(self) -> None:
        self.records.clear()

    # -- readers ----------------------------------------------------------------------------------
    def of_type(self, kind: type[R]) -> list[R]:
        """Every record of one type, in order."""
        return [r for r in self.records if isinstance(r, kind)]

    def flow_runs(self) -> list[FlowRunCreated]:
        return self.of_type(FlowRunCreated)

    def task_runs(self) -> list[TaskRunCreated]:
        return self.of_type(TaskRunCreated)

    def states(self, run_id: UUID) -> list[State]:
        """The state history of one run, oldest first."""
        return [r.state for r in self.of_type(StateChanged) if r.run_id == run_id]

    def state_names(self, run_id: UUID) -> list[str]:
        return [s.name for s in self.states(run_id)]

    def final_state(self, run_id: UUID) -> State | None:
        states = self.states(run_id)
        return states[-1] if states else None

    def run_name(self, run_id: UUID) -> str | None:
        """The run's final name (after any template was applied)."""
        name: str | None = None
        for record in self.records:
            if isinstance(record, (FlowRunCreated, TaskRunCreated)):
                rid = (
                    record.flow_run_id if isinstance(record, FlowRunCreated)
                    else record.task_run_id
                )
                if rid == run_id:
                    name = record.name
            elif isinstance(record, RunRenamed) and record.run_id == run_id:
                name = record.name
        return name

    def logs(self, run_id: UUID | None = None) -> list[LogEmitted]:
        """Log records, all of them or those of one flow or task run."""
        logs = self.of_type(LogEmitted)
        if run_id is None:
            return logs
        return [r for r in logs if run_id in (r.task_run_id, r.flow_run_id)]

    def messages(self, run_id: UUID | None = None) -> list[str]:
        return [r.message for r in self.logs(run_id)]

    def dependencies(self) -> list[DependencyAdded]:
        return self.of_type(DependencyAdded)

    def task_runs_of(self, flow_run_id: UUID) -> list[TaskRunCreated]:
        return [r for r in self.task_runs() if r.flow_run_id == flow_run_id]

    def child_flow_runs(self, flow_run_id: UUID) -> list[FlowRunCreated]:
        return [r for r in self.flow_runs() if r.parent_flow_run_id == flow_run_id]

    def __iter__(self) -> Iterator[Record]:
        return iter(list(self.records))

    def __len__(self) -> int:
        return len(self.records)

    def summary(self) -> list[tuple[str, Any]]:
        """(record type, key field) pairs: handy in assertion messages."""
        return [(type(r).__name__, getattr(r, "name", None)) for r in self.records]
