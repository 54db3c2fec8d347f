"""The execution seam: a task run ready to start is a `TaskRunRequest`; running it gives a
`TaskRunOutcome`.

By the time a request exists, the run's upstream runs have finished and its parameters are
resolved to plain values, so a request is frozen, picklable and complete: the task (by
reference when it can be imported), the run (id, name), the parameters, the facts of its flow
run, and the settings its attempts use. A runner only moves requests and outcomes:

- in this process: `request.execute()` in a worker thread (`request.execute_async()` for an
  async task, on the worker's own event loop). Records go straight to the flow's sink, and the
  outcome carries none.
- elsewhere: `request.to_bytes()` is shipped, `execute_bytes` runs it on the other side (it is
  importable there: ship the function itself), and `outcome_from_bytes` reads the answer. The
  records the run produced come back inside the outcome, and the engine replays them into the
  flow's sink, so a run on a Dask or Ray worker shows up in the history like a run in a thread.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

from headwater import __version__
from headwater.engine.drivers import drive_async, drive_sync, run_coro_sync
from headwater.engine.generators import collecting
from headwater.engine.plain_run import is_plain_task, run_plain
from headwater.engine.runtime import Runtime, current_runtime, use_runtime
from headwater.engine.task_run import task_run_steps
from headwater.errors import SerializationError

if TYPE_CHECKING:
    from headwater.core.assets import Asset
    from headwater.core.runs import TaskRun
    from headwater.core.states import State
    from headwater.core.tasks import Task
    from headwater.events.records import Record


@dataclass(frozen=True, slots=True)
class FlowRunFacts:
    """What a task run needs to know about its flow run; the `Flow` object stays home.

    Attributes:
        cancel_scope: this flow run's id and its parents': a cancel request for any stops it.
        parameters: the flow run's parameters (cache policies such as FLOW_PARAMETERS read them).
    """

    id: UUID
    name: str
    flow_name: str
    flow_version: str | None
    tags: frozenset[str]
    parameters: dict[str, Any]
    log_prints: bool
    persist_result: bool | None
    result_storage: Any
    result_serializer: Any
    cancel_scope: tuple[UUID, ...]
    parent_flow_run_id: UUID | None = None
    parent_task_run_id: UUID | None = None


class AttemptSettings(NamedTuple):
    """Choices made where the flow runs, so that a worker elsewhere needs no settings of its own.

    Attributes:
        log_prints: route `print()` in the task to its run logger.
        persist_result: persist (and so cache) the result.
    """

    log_prints: bool
    persist_result: bool

    def __reduce__(self) -> tuple[Any, ...]:
        return _reduced(self)


# Requests, outcomes and attempt settings are made once per task run: immutable tuples, which
# cost a third of what a frozen dataclass does to build, and pickle as compactly.
class TaskRunRequest(NamedTuple):
    """One task run, ready to start. Immutable; `request._replace(...)` gives a changed copy.

    Attributes:
        task: the task (pickled by reference when it can be imported by module and name).
        task_run: the run: its id and name are fixed; in this process it is the object the
            run's future and hooks see, updated as the run advances.
        parameters: resolved parameters by name (no futures left).
        flow_run: facts of the flow run it belongs to (None for a task called on its own).
        settings: what its attempts do about prints and persistence.
        upstreams: (parameter name, upstream run id) per dependency, recorded with the run.
        upstream_assets: assets flowing out of each upstream run, when assets are in use and the
            run executes in another process (which cannot see this flow's lineage).
        blocked: a final state to record without running the task (an upstream that did not
            complete, or a request that could not be sent); None normally.
        resume: when its flow run resumes an earlier attempt, the id of the earlier task run
            whose result it takes, or `engine.resume.RERUN`; None normally.
    """

    task: Task[..., Any]
    task_run: TaskRun
    parameters: dict[str, Any]
    flow_run: FlowRunFacts | None
    settings: AttemptSettings
    upstreams: tuple[tuple[str, UUID], ...] = ()
    upstream_assets: dict[UUID, frozenset[Asset]] | None = None
    blocked: State | None = None
    resume: UUID | str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return _reduced(self)

    @property
    def isasync(self) -> bool:
        """Whether the task is an `async def` (run it with `execute_async`)."""
        return bool(self.task.isasync)

    def execute(self) -> TaskRunOutcome:
        """Run the task run to its final state in this thread.

        Its records go to the sink of its flow run if the flow runs in this process (the
        request's flow run is the current one), else to the current runtime's sink. An async
        task gets an event loop of its own.
        """
        if self.task.isasync:
            return run_coro_sync(execute_async(self))
        token = collecting.set(True)  # a submitted generator task returns its items
        try:
            if self.blocked is None and self.resume is None and is_plain_task(
                    self.task, self.settings):  # `is_plain`, inline: once per run
                run, state, _ = run_plain(self)
            else:
                run, state, _ = drive_sync(task_run_steps(self))
        finally:
            collecting.reset(token)
        return _tuple_new(TaskRunOutcome, (run, state, ()))

    async def execute_async(self) -> TaskRunOutcome:
        """Run the task run to its final state on the running event loop."""
        run, state, _ = await drive_async(task_run_steps(self))
        return TaskRunOutcome(run, state)

    def to_bytes(self, *, shared: bool = True) -> bytes:
        """The request as bytes for another process (`execute_bytes` reads them).

        With `shared=False`, the bytes leave out what every run of the task in this flow run
        has in common (the task and the flow run's facts): a runner that ships many runs sends
        those once, as `shared_bytes()`, and the worker puts them back with
        `execute_bytes(payload, load_shared(data))`. A task defined in a script then travels
        by value once, not with each run.

        Raises:
            SerializationError: the task or a parameter cannot be pickled; says which.
        """
        try:
            # Without the shared parts, the request is not a whole one: the worker completes it.
            wire = (_COMPACT or _compact())[0].request_to_wire(self, shared)
            if wire is not None:  # its fields as plain values: see engine/_compact.py
                return dumps(wire)
            own = self if shared else self._replace(task=None, flow_run=None)  # type: ignore[arg-type]
            return dumps(own)
        except Exception as exc:
            raise SerializationError(_explain_unpicklable(self, exc)) from exc

    def shared_bytes(self) -> bytes:
        """The task and the flow run's facts as bytes (`load_shared` reads them): the same for
        every run of this task in this flow run; see `to_bytes(shared=False)`.

        Raises:
            SerializationError: the task cannot be pickled.
        """
        try:
            return dumps((self.task, self.flow_run))
        except Exception as exc:
            alone = self._replace(parameters={})  # the parameters are not in these bytes
            raise SerializationError(_explain_unpicklable(alone, exc)) from exc

    @staticmethod
    def execute_bytes(payload: bytes, shared: SharedParts | None = None) -> bytes:
        """Run a request made by `to_bytes`; see the module-level `execute_bytes`."""
        return execute_bytes(payload, shared)

    @staticmethod
    def execute_shared(token: bytes, shared: SharedSource, payload: bytes) -> bytes:
        """Run a request made by `to_bytes(shared=False)`; see the module-level
        `execute_shared`."""
        return execute_shared(token, shared, payload)

    @staticmethod
    def execute_packed(packet: bytes) -> bytes:
        """Run a request packed with its shared parts' token and bytes (`pack_shared`); see
        the module-level `execute_packed`."""
        return execute_packed(packet)

    @staticmethod
    def pack_shared(token: bytes, shared: bytes) -> bytes:
        """The start of every packet of the runs that share `shared` (see `execute_packed`)."""
        return pack_shared(token, shared)

    @staticmethod
    def outcome_from_bytes(payload: bytes) -> TaskRunOutcome:
        """Read what `execute_bytes` returned.

        Raises:
            SerializationError: the bytes were made by an incompatible headwater.
        """
        outcome: Any = loads(payload, "outcome of a task run")
        forms = (_COMPACT or _compact())[0]
        if forms.is_outcome(outcome):
            return _tuple_new(TaskRunOutcome, forms.outcome_fields(outcome))
        return outcome  # type: ignore[no-any-return]


class TaskRunOutcome(NamedTuple):
    """How a task run ended.

    Attributes:
        task_run: the run with its final facts (state, attempts, times).
        state: the final state.
        records: the records the run produced, when they could not go to the flow's sink
            directly (it ran in another process); empty otherwise.
    """

    task_run: TaskRun
    state: State
    records: tuple[Record, ...] = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return _reduced(self)


_tuple_new = tuple.__new__  # builds a named tuple without its Python-level __new__


def _reduced(value: tuple[Any, ...]) -> tuple[Any, ...]:
    """A named tuple pickled as a call of its type with its fields: two thirds of the cost of
    the default form (`__getnewargs__` through `copyreg`). Requests and outcomes cross to
    workers and back once per run. (Not `tuple.__new__`: pickle finds the module of a built-in
    method by searching every loaded module, in each `dumps`.)"""
    return (value.__class__, tuple(value))


# The engine's entry points, as functions of the request (the same code as the methods).
execute = TaskRunRequest.execute
execute_async = TaskRunRequest.execute_async


# What `TaskRunRequest.shared_bytes` holds: the task and the flow run's facts.
SharedParts = tuple["Task[..., Any]", "FlowRunFacts | None"]
# How a worker gets them (`execute_shared`): their bytes, or (function, argument) giving them.
SharedSource = bytes | tuple[Callable[[Any], bytes], Any]


def load_shared(data: bytes) -> SharedParts:
    """Worker side: read what `TaskRunRequest.shared_bytes` made.

    Raises:
        SerializationError: the bytes were made by an incompatible headwater, or the task
            cannot be loaded here.
    """
    task, facts = loads(data, "task")
    return task, facts


# A worker keeps the shared parts of this many tasks (`execute_shared`), the oldest going first.
SHARED_KEPT = 256
_shared_kept: dict[bytes, SharedParts] = {}


def execute_shared(token: bytes, shared: SharedSource, payload: bytes) -> bytes:
    """Worker side: run a request made by `to_bytes(shared=False)`, with the shared parts
    (`shared_bytes()`) that `token` names.

    This process loads them the first time it sees `token`, and keeps them for the next runs of
    that task: a task defined in a script is rebuilt once per worker, not once per run. `shared`
    is their bytes, or a (function, argument) pair whose call returns them, so that large parts
    can wait elsewhere (a cluster's object store) until a worker needs them.
    """
    parts = _shared_kept.get(token)
    if parts is None:
        parts = _keep_shared(token, shared if isinstance(shared, bytes) else shared[0](shared[1]))
    return execute_bytes(payload, parts)


# A packet: a 16-byte token, the size of the shared bytes (8 bytes, little-endian), the shared
# bytes, then the run's own bytes.
TOKEN_SIZE = 16
_PACKED_AT = TOKEN_SIZE + 8


def pack_shared(token: bytes, shared: bytes) -> bytes:
    """The start of every packet of the runs that share `shared` under `token` (16 bytes): a
    runner appends each run's `to_bytes(shared=False)` to it and sends the whole as one value
    (`execute_packed`)."""
    if len(token) != TOKEN_SIZE:
        raise ValueError(f"a shared-parts token is {TOKEN_SIZE} bytes, not {len(token)}")
    return token + len(shared).to_bytes(8, "little") + shared


def execute_packed(packet: bytes) -> bytes:
    """Worker side: `execute_shared` with its three parts in one bytes value (`pack_shared`).

    One argument is cheaper than three for a cluster that handles each argument of a task on
    its own: on a local Ray, a task of one bytes argument cost the submitting process ~85 µs
    less than one of three. The shared bytes are read out of the packet only the first time
    this process sees its token.
    """
    token = packet[:TOKEN_SIZE]
    end = _PACKED_AT + int.from_bytes(packet[TOKEN_SIZE:_PACKED_AT], "little")
    parts = _shared_kept.get(token)
    if parts is None:
        parts = _keep_shared(token, packet[_PACKED_AT:end])
    return execute_bytes(packet[end:], parts)


def _keep_shared(token: bytes, data: bytes) -> SharedParts:
    parts = load_shared(data)
    while len(_shared_kept) >= SHARED_KEPT:
        _shared_kept.pop(next(iter(_shared_kept)), None)
    _shared_kept[token] = parts
    return parts


def execute_bytes(payload: bytes, shared: SharedParts | None = None) -> bytes:
    """Worker side: run a request made by `TaskRunRequest.to_bytes` and return its outcome,
    with every record the run produced, as bytes.

    `shared` is what `load_shared` read, for a request made by `to_bytes(shared=False)`.
    If the result cannot be pickled, the outcome is a `Failed` state that says so.
    """
    Clock, RunControl, setup_logging, MemorySink = _WORKER_PARTS or _worker_parts()
    request: Any = loads(payload, "task run request")
    forms = (_COMPACT or _compact())[0]
    if forms.is_request(request):
        fields = forms.request_fields(request, len(AttemptSettings._fields))
        request = _tuple_new(TaskRunRequest, (*fields[:4], _tuple_new(AttemptSettings, fields[4]),
                                              *fields[5:]))
    if shared is not None:
        request = request._replace(task=shared[0], flow_run=shared[1])
    setup_logging()
    collector = MemorySink()
    with use_runtime(Runtime(sink=collector, clock=Clock(), control=RunControl())):
        outcome = execute(request)
    records = tuple(collector.records)
    try:
        wire = forms.outcome_to_wire(outcome.task_run, outcome.state, records)
        if wire is not None:  # its fields as plain values: see engine/_compact.py
            return dumps(wire)
        return dumps(outcome._replace(records=records))
    except Exception as exc:
        return dumps(_unsendable_result(request, outcome, records, exc))


_WORKER_PARTS: tuple[Any, ...] = ()
_COMPACT: list[Any] = []  # the compact forms' module, once a request or outcome needs it


def _compact() -> list[Any]:
    """engine/_compact.py, imported when a request first travels (a flow whose runs stay in
    this process does not load it), then kept."""
    from headwater.engine import _compact as forms

    _COMPACT[:] = [forms]
    return _COMPACT


def _worker_parts() -> tuple[Any, ...]:
    """What `execute_bytes` runs a request with, imported once (not in every call: an import
    statement costs ~12k instructions even when the module is loaded)."""
    global _WORKER_PARTS

    from headwater.engine.clock import Clock
    from headwater.engine.control import RunControl
    from headwater.engine.logs import setup_logging
    from headwater.events.memory import MemorySink

    _WORKER_PARTS = (Clock, RunControl, setup_logging, MemorySink)
    return _WORKER_PARTS


# -- bytes ---------------------------------------------------------------------------------------
# Every payload starts with the format and the headwater version that made it, so a worker
# running another headwater says so plainly instead of failing somewhere inside pickle.
# Format 2: requests and outcomes in their compact forms (engine/_compact.py).
_FORMAT = b"headwater-run/2 "
_HEADER = _FORMAT + __version__.encode() + b"\n"


def dumps(value: Any) -> bytes:
    """`value` as bytes another process can load.

    The C pickler first: it is several times faster than cloudpickle, and tasks that can be
    imported travel as a module and a name. What it cannot make loadable elsewhere (lambdas,
    closures, and anything defined in a script's `__main__`) goes through cloudpickle, which
    sends such code by value.

    Raises:
        Exception: whatever cloudpickle raises for a value neither can pickle.
    """
    try:
        data = pickle.dumps(value, protocol=5)
    except Exception:  # a lambda, a closure, a class defined in a function...
        data = None
    if data is None or b"__main__" in data or b"__mp_main__" in data:
        import cloudpickle

        data = cloudpickle.dumps(value, protocol=5)
    return _HEADER + data


def loads(payload: bytes, what: str) -> Any:
    """Read bytes made by `dumps`.

    Raises:
        SerializationError: not headwater's format, or made by an incompatible headwater.
    """
    if not payload.startswith(_FORMAT):
        raise SerializationError(
            f"Received a {what} that headwater cannot read (it does not start with "
            f"{_FORMAT!r}): the flow's process and this worker run incompatible headwater "
            "versions. Install the same headwater version on both."
        )
    end = payload.index(b"\n")
    try:
        return pickle.loads(memoryview(payload)[end + 1:])
    except Exception as exc:
        theirs = payload[len(_FORMAT):end].decode(errors="replace")
        raise SerializationError(
            f"Could not read a {what} made by headwater {theirs} with headwater "
            f"{__version__}: {exc!r}. If the versions differ, install the same headwater on "
            "the workers as in the flow's process; otherwise check that the task's module "
            "can be imported on the worker."
        ) from exc


def _unsendable_result(
    request: TaskRunRequest, outcome: TaskRunOutcome, records: tuple[Record, ...],
    exc: Exception,
) -> TaskRunOutcome:
    from headwater.core.states import Failed
    from headwater.events.records import StateChanged

    run, state = outcome.task_run, outcome.state
    failed = Failed(
        message=(
            f"Task {request.task.name!r} finished, but its result ({type(state.data).__name__}) "
            f"cannot be sent back to the flow's process: {exc}. Return something picklable."
        ),
        data=SerializationError(str(exc)),
    )
    failed.state_details.task_run_id = run.id
    failed.state_details.flow_run_id = run.flow_run_id
    # The unpicklable result leaves the history: the final state is replaced by this one.
    kept = tuple(r for r in records if not (isinstance(r, StateChanged) and r.state.is_final()))
    run.state = failed
    return TaskRunOutcome(run, failed, (*kept, StateChanged(run.id, "task", failed,
                                                            run.run_count)))


def _explain_unpicklable(request: TaskRunRequest, exc: Exception) -> str:
    import cloudpickle

    name = request.task.name
    for key, value in request.parameters.items():
        try:
            cloudpickle.dumps(value)
        except Exception:
            return (
                f"Task {name!r} cannot be sent to another process: its argument {key!r} "
                f"({type(value).__name__} {value!r:.80}) cannot be pickled ({exc}). Pass "
                "something picklable (e.g. a path instead of an open file), or use the "
                "thread-pool runner."
            )
    return (
        f"Task {name!r} cannot be sent to another process: the task itself cannot be "
        f"pickled ({exc}). Define it at module level, or use the thread-pool runner."
    )


def replay(outcome: TaskRunOutcome, run: TaskRun, runtime: Runtime | None = None) -> None:
    """Flow side, for a run that executed elsewhere: hand its records to the flow's sink and
    bring the local run object up to date."""
    if outcome.records:
        emit = (runtime or current_runtime()).sink.emit
        for record in outcome.records:
            emit(record)
    remote = outcome.task_run
    if remote is not run:
        try:  # a TaskRun (rebuilt with every field): one statement, not a loop per field
            run.name, run.state, run.run_count, run.start_time, run.end_time, \
                run.total_run_time = (remote.name, remote.state, remote.run_count,
                                      remote.start_time, remote.end_time, remote.total_run_time)
        except AttributeError:  # a run object missing some of them: copy those it has
            for slot in ("name", "state", "run_count", "start_time", "end_time",
                         "total_run_time"):
                with contextlib.suppress(AttributeError):
                    setattr(run, slot, getattr(remote, slot))
