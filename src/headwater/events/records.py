"""The records the engine hands to an `EventSink`: immutable, cheap to build, in-process objects.

Each record is built once on the hot path and never changed. They are named tuples: a task
run makes four of them, and a named tuple is built in a third of the time of a frozen
dataclass (which sets each field through `object.__setattr__`), pickles compactly as its class
and its fields, and lists its fields in `_fields`. The store sink turns each into a compact
tuple as it is emitted (`codec.py`, generated from these types); the store builds rows from
the tuples elsewhere.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # annotations only (the codec reads them as text): the writer process
    from typing import NamedTuple  # loads this module, and needs neither uuid nor the states
    from uuid import UUID  # module (for NamedTuple, see `_RecordType` below)

    from headwater.core.states import State


_namedtuple: Callable[..., Any] = collections.namedtuple


class _RecordType(type):
    """Makes `class X(NamedTuple): ...` here a `collections.namedtuple`, as `typing.NamedTuple`
    does (fields, defaults, docstring, module), but keeps each annotation as the text it is
    written as. `typing.NamedTuple` compiles every one into a `ForwardRef`: 19M instructions
    for these seven types, in the flow's process and again in the writer process, whose
    start-up a flow waits for at its end. Nothing evaluates them: the codec reads them as text
    (`codec.record_fields`). Type checkers see `typing.NamedTuple`."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        if not bases:  # the base class below
            return super().__new__(mcs, name, bases, namespace)
        annotations: dict[str, str] = namespace.get("__annotations__", {})
        fields = list(annotations)
        cls = _namedtuple(name, fields, module=namespace["__module__"],
                          defaults=[namespace[f] for f in fields if f in namespace])
        cls.__annotations__ = dict(annotations)
        cls.__reduce__ = _reduce_record
        for key, value in namespace.items():  # the docstring, the qualified name, any methods
            if key not in annotations and key not in ("__module__", "__annotations__"):
                setattr(cls, key, value)
        return cls


def _reduce_record(record: tuple[Any, ...]) -> tuple[Any, ...]:
    """A record pickles as a call of its type with its fields: a task run's records travel back
    from its worker with every outcome on Dask and Ray, and this form costs about two thirds of
    the default one (which calls `__getnewargs__` and goes through `copyreg`) to pickle."""
    return (record.__class__, tuple(record))


if not TYPE_CHECKING:
    NamedTuple = _RecordType("NamedTuple", (), {})

RunKind = Literal["flow", "task"]


class FlowRunCreated(NamedTuple):
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


class TaskRunCreated(NamedTuple):
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


class RunRenamed(NamedTuple):
    """A run got its final name (templates are resolved after parameters are known)."""

    run_id: UUID
    kind: RunKind
    name: str


class StateChanged(NamedTuple):
    """A flow or task run entered a new state."""

    run_id: UUID
    kind: RunKind
    state: State
    run_count: int = 0


class LogEmitted(NamedTuple):
    """A log record written inside a run (engine messages, `get_run_logger()`, printed lines)."""

    flow_run_id: UUID | None
    task_run_id: UUID | None
    logger: str
    level: int
    message: str
    timestamp: float


class DependencyAdded(NamedTuple):
    """A task run used the result of (or waited for) another run."""

    task_run_id: UUID
    upstream_run_id: UUID
    parameter: str | None = None


class Event(NamedTuple):
    """A named occurrence with a payload, e.g. an asset materialization."""

    name: str
    resource: dict[str, Any]
    related: tuple[dict[str, Any], ...] = ()
    payload: dict[str, Any] = {}  # noqa: RUF012 (never changed: records are immutable)
    flow_run_id: UUID | None = None
    task_run_id: UUID | None = None
    timestamp: float = 0.0


Record = (
    FlowRunCreated
    | TaskRunCreated
    | RunRenamed
    | StateChanged
    | LogEmitted
    | DependencyAdded
    | Event
)
