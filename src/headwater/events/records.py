"""The records the engine hands to an `EventSink`: immutable, cheap to build, in-process objects.

Each record is built once on the hot path and never changed. The store sink turns each into
a compact tuple as it is emitted (`_wire.py`); folding and writing happen elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from headwater.core.states import State

RunKind = Literal["flow", "task"]


@dataclass(frozen=True, slots=True)
class FlowRunCreated:
    """A flow run was created (before it starts running)."""

    flow_run_id: UUID
    name: str
    flow_name: str
    flow_version: str | None
    parameters: dict[str, Any]
    tags: frozenset[str]
    parent_flow_run_id: UUID | None
    parent_task_run_id: UUID | None
    timestamp: float
    identity: str | None = None  # a subflow's place in its parent: "flow-name#n"
    entrypoint: str | None = None  # "path/to/file.py:function", where it can be known


@dataclass(frozen=True, slots=True)
class TaskRunCreated:
    """A task run was created, inside a flow run or on its own (`flow_run_id` None).

    `call` is its place among the calls of its task in its flow run: the n-th call (an int),
    or "n.i" for element i of the n-th call being a `.map` (see `headwater.engine.identity`).
    """

    task_run_id: UUID
    name: str
    task_name: str
    task_key: str
    flow_run_id: UUID | None
    parameters: dict[str, Any]
    tags: frozenset[str]
    timestamp: float
    call: int | str | None = None


@dataclass(frozen=True, slots=True)
class RunRenamed:
    """A run got its final name (templates are resolved after parameters are known)."""

    run_id: UUID
    kind: RunKind
    name: str


@dataclass(frozen=True, slots=True)
class StateChanged:
    """A flow or task run entered a new state."""

    run_id: UUID
    kind: RunKind
    state: State
    run_count: int = 0


@dataclass(frozen=True, slots=True)
class LogEmitted:
    """A log record written inside a run (engine messages, `get_run_logger()`, printed lines)."""

    flow_run_id: UUID | None
    task_run_id: UUID | None
    logger: str
    level: int
    message: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class DependencyAdded:
    """A task run used the result of (or waited for) another run."""

    task_run_id: UUID
    upstream_run_id: UUID
    parameter: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A named occurrence with a payload, e.g. an asset materialization."""

    name: str
    resource: dict[str, Any]
    related: tuple[dict[str, Any], ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)
    flow_run_id: UUID | None = None
    task_run_id: UUID | None = None
    timestamp: float = 0.0


def _compact_pickling(*classes: type) -> None:
    """Records come back from worker processes inside outcomes: pickle each as its class and a
    tuple of its fields (built in C), not through the dataclass's per-field Python hooks."""
    import operator
    from dataclasses import fields

    for cls in classes:
        names = [f.name for f in fields(cls)]
        getter = operator.attrgetter(*names)
        single = len(names) == 1

        def reduce(self: Any, g: Any = getter, single: bool = single) -> tuple[Any, ...]:
            return (type(self), (g(self),) if single else g(self))

        setattr(cls, "__reduce__", reduce)  # noqa: B010 (assigned to the class, after the fact)


_compact_pickling(FlowRunCreated, TaskRunCreated, RunRenamed, StateChanged, LogEmitted,
                  DependencyAdded, Event)

Record = (
    FlowRunCreated
    | TaskRunCreated
    | RunRenamed
    | StateChanged
    | LogEmitted
    | DependencyAdded
    | Event
)
