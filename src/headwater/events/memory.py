"""A sink that keeps every record in a list, with readers that tests and tools use.

A sink that keeps every record for the life of the process (`HEADWATER_STORE=memory`) would
make the cyclic garbage collector slower as it fills: each record, its state and its ids are
objects the collector walks on every full collection (a million task runs keep some twelve
million). Such a sink is made with `freeze_every`: after a full collection that the collector
runs anyway, once the sink has kept that many more records, what survived the collection is
moved to the collector's permanent generation (`gc.freeze()`), which later collections skip.
Records are still freed by reference counting when the sink is cleared. The price, which is
why only the process's own memory store does it: an object that was alive at such a moment
and later becomes part of an unreachable reference cycle is not collected. Nothing that was
garbage is frozen, since each freeze follows a full collection.
"""

from __future__ import annotations

import gc
import weakref
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

# What the process's memory store (`HEADWATER_STORE=memory`) passes as `freeze_every`: about
# 5,000 task runs between freezes, so the collector walks a bounded number of kept records.
FREEZE_EVERY = 20_000


class MemorySink(EventSink):
    """Keeps records in memory, in emission order. Thread-safe: `list.append` is atomic.

    Args:
        freeze_every: freeze the kept records for the cyclic garbage collector after a full
            collection, each time at least this many more were kept (see the module's
            docstring); None, the default, never freezes. For a sink that lives as long as
            its process and keeps a great many records.
    """

    def __init__(self, *, freeze_every: int | None = None) -> None:
        if freeze_every is not None and freeze_every < 1:
            raise ValueError(
                f"MemorySink(freeze_every={freeze_every!r}) must be a positive number of "
                f"records, or None to never freeze them."
            )
        self.records: list[Record] = []
        # Bound method lookup once: emit is the hot path, and freezing adds nothing to it.
        self.emit = self.records.append  # type: ignore[method-assign, assignment]
        self.freeze_every = freeze_every
        self.frozen_upto = 0  # len(records) at the last freeze
        if freeze_every is not None:
            _freezing.add(self)
            if _after_collection not in gc.callbacks:
                gc.callbacks.append(_after_collection)

    def emit(self, record: Record) -> None:  # replaced per instance in __init__
        self.records.append(record)

    def clear(self) -> None:
        self.records.clear()
        self.frozen_upto = 0

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


# Sinks made with `freeze_every`, weakly: a sink nobody uses any more is not kept for this.
_freezing: weakref.WeakSet[MemorySink] = weakref.WeakSet()


def _after_collection(phase: str, info: dict[str, Any]) -> None:
    """`gc.callbacks` hook: after a full collection, freeze if a sink has grown enough."""
    if phase != "stop" or info.get("generation") != 2:
        return
    due = False
    for sink in list(_freezing):
        kept = len(sink.records)
        if sink.freeze_every is not None and kept - sink.frozen_upto >= sink.freeze_every:
            sink.frozen_upto = kept
            due = True
    if due:
        # Everything still tracked survived the collection that just ended: nothing here is
        # garbage. Later collections skip it; reference counting still frees it.
        gc.freeze()
