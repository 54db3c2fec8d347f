"""The compact forms of a task run's request and outcome on their way to a worker and back.

Pickling an object costs far more than pickling its fields as plain values: for each class it
names, `pickle` imports the class's module and looks the class up, in every `dumps` and again
in every `loads`, and a `UUID` goes through `copyreg` and a state dict each way. A request that
pickled in 13.7 µs and loaded in 11.5 µs as objects pickles in 0.8 µs and loads in 0.9 µs as
a tuple of its fields, ids as integers; rebuilding the objects from it costs a few µs.

So `request_to_wire` turns a request, and `outcome_to_wire` an outcome with its records, into
plain tuples (`engine.execution` pickles them), and `request_fields` and `outcome_fields` give
back the fields of each, objects rebuilt (`is_request` and `is_outcome` tell the forms apart).
Whatever is not one of the fields laid out here (a task, parameters, a result, an exception, a
state's extra details) is inside the tuple as it is, and pickles as usual. A value these forms
do not expect (an id that is not a `UUID`, a run that is not a `TaskRun`) makes either
`..._to_wire` return None, and the caller pickles the objects themselves: both forms load with
the same `loads`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID, SafeUUID

from headwater.core.runs import NOT_STARTED, TaskRun, _task_run
from headwater.core.states import _NO_DATA, State, _state
from headwater.events import records as _records

if TYPE_CHECKING:
    from headwater.engine.execution import TaskRunRequest
    from headwater.events.records import Record


def _layout() -> str:
    """A fingerprint of every field these forms lay out by place: a peer whose records, runs or
    states have other fields makes other tags, and is refused (`_refuse`), not misread."""
    import zlib

    from headwater.core._details import StateDetails

    slots = [(cls.__name__, [name for c in cls.__mro__ for name in getattr(c, "__slots__", ())])
             for cls in (TaskRun, State, StateDetails)]
    fields = [(name, cls._fields) for name, cls in _RECORD_TYPES.items()]  # type: ignore[attr-defined]
    return format(zlib.crc32(repr((slots, fields)).encode()), "08x")



_new = object.__new__
_setattr = object.__setattr__
_tuple_new = tuple.__new__
_UNKNOWN = SafeUUID.unknown


class _Unexpected(Exception):
    """A value the compact form does not lay out: the objects are pickled instead."""


class _Ids:
    """The ids of one request or outcome, each sent once as an integer and named by its place
    (a task run's outcome names its run's id some ten times, and its flow run's a few). Ids
    are told apart by identity, as pickle's memo does (a UUID hashes in Python code)."""

    __slots__ = ("flow", "numbers", "place", "run")

    def __init__(self, run: TaskRun, numbers: list[int]) -> None:
        # The run's id and its flow run's are at places 0 and 1 (`_run`): told by identity
        # where most ids are laid out, without a call of `at`.
        self.run, self.flow = run.id, run.flow_run_id
        self.place = {id(self.run): 0, id(self.flow): 1} if len(numbers) == 2 else {
            id(self.run): 0}
        self.numbers = numbers

    def at(self, value: Any) -> int | None:
        if value is None:
            return None
        place = self.place.get(id(value))
        if place is None:
            if value.__class__ is not UUID:
                raise _Unexpected
            place = self.place[id(value)] = len(self.numbers)
            self.numbers.append(value.int)
        return place


def _uuids(numbers: list[int]) -> list[UUID]:
    """The ids an `_Ids` laid out, by place."""
    made = []
    for number in numbers:
        value = _new(UUID)
        _setattr(value, "int", number)
        _setattr(value, "is_safe", _UNKNOWN)
        made.append(value)
    return made


def _run(run: Any) -> tuple[list[int], tuple[Any, ...]]:
    """A task run's ids (its own, then its flow run's if any) and its fields, the ids by place."""
    own, flow = run.id, run.flow_run_id
    if run.__class__ is not TaskRun or own.__class__ is not UUID or (
            flow is not None and flow.__class__ is not UUID):
        raise _Unexpected
    return ([own.int] if flow is None else [own.int, flow.int]), (
        0, run.name, run.task_name, run.task_key, None if flow is None else 1, run.tags,
        run.call, run.run_count, run.start_time, run.end_time, run.total_run_time)


def _rebuilt_run(fields: tuple[Any, ...], parameters: dict[str, Any], state: State,
                 made: list[UUID]) -> TaskRun:
    (place, name, task_name, task_key, flow_place, tags, call, run_count, start_time,
     end_time, total_run_time) = fields
    return _task_run(made[place], name, task_name, task_key,
                     None if flow_place is None else made[flow_place], parameters, tags, call,
                     state, run_count, start_time, end_time, total_run_time)


# -- requests ----------------------------------------------------------------------------------
def request_to_wire(request: TaskRunRequest, shared: bool) -> tuple[Any, ...] | None:
    """`request` as a plain tuple (without its task and flow run facts unless `shared`), or None
    when it holds what this form does not lay out."""
    run, settings = request.task_run, request.settings
    if settings.__class__.__name__ != "AttemptSettings":  # rebuilt as one on the other side
        return None
    try:
        numbers, fields = _run(run)
    except Exception:  # not a run this form lays out: its objects are pickled instead
        return None
    parameters = request.parameters
    state = run.state
    return (_REQUEST, request.task if shared else None, request.flow_run if shared else None,
            numbers, fields, None if run.parameters is parameters else (run.parameters,),
            None if state is NOT_STARTED else state, parameters, tuple(settings),
            request.upstreams, request.upstream_assets, request.blocked, request.resume)


def is_request(value: Any) -> bool:
    if value.__class__ is tuple and len(value) == 13 and value[0] == _REQUEST:
        return True
    _refuse(value, "hw-request/", "task run request")
    return False


def _refuse(value: Any, prefix: str, what: str) -> None:
    """Raise if `value` is a compact form of another layout (a peer with other fields)."""
    if (value.__class__ is tuple and value and value[0].__class__ is str
            and value[0].startswith(prefix)):
        from headwater.errors import SerializationError

        raise SerializationError(
            f"Received a {what} laid out as {value[0]!r}, but this headwater lays them out as "
            f"{prefix}1/{_LAYOUT}: the flow's process and the worker run headwater versions "
            f"whose runs, states or records have different fields. Install the same headwater "
            f"version on both.")


def request_fields(value: tuple[Any, ...], settings_width: int) -> tuple[Any, ...]:
    """The fields of the request `request_to_wire` laid out, in `TaskRunRequest` order; its
    settings as a plain tuple of theirs (`settings_width` of them, or the request is refused)."""
    (_, task, flow_run, numbers, fields, own_parameters, state, parameters, settings, upstreams,
     upstream_assets, blocked, resume) = value
    if len(settings) != settings_width:
        _refuse((f"hw-request/ with {len(settings)} settings",), "hw-request/", "task run request")
    run = _rebuilt_run(fields, parameters if own_parameters is None else own_parameters[0],
                       NOT_STARTED if state is None else state, _uuids(numbers))
    return (task, run, parameters, flow_run, settings, upstreams, upstream_assets, blocked,
            resume)


# -- outcomes ----------------------------------------------------------------------------------
def _record_layout(cls: type) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The places of a record type's id fields and state fields, from its annotations (kept as
    text: see events/records.py)."""
    notes: dict[str, str] = cls.__annotations__
    fields: tuple[str, ...] = cls._fields  # type: ignore[attr-defined]
    ids = tuple(i for i, name in enumerate(fields) if notes[name].split(" |")[0] == "UUID")
    states = tuple(i for i, name in enumerate(fields) if notes[name] == "State")
    return ids, states


_RECORD_TYPES: dict[str, type] = {
    name: value for name, value in vars(_records).items()
    if isinstance(value, type) and issubclass(value, tuple) and hasattr(value, "_fields")
    and value.__module__ == _records.__name__
}
_LAYOUTS = {cls: _record_layout(cls) for cls in _RECORD_TYPES.values()}

# The first item of each form, which tells them apart (and from anything else).
_LAYOUT = _layout()
_REQUEST = f"hw-request/1/{_LAYOUT}"
_OUTCOME = f"hw-outcome/1/{_LAYOUT}"


class _States:
    """The states of one outcome, each laid out once, by its place among them."""

    __slots__ = ("ids", "index", "laid")

    def __init__(self, ids: _Ids) -> None:
        self.ids = ids
        self.index: dict[int, int] = {}
        self.laid: list[tuple[Any, ...]] = []

    def place(self, state: State) -> int:
        known = self.index.get(id(state))
        if known is not None:
            return known
        if state.__class__ is not State:
            raise _Unexpected
        details, ids = state._details, self.ids
        flow: Any
        task: Any
        count: Any
        extra: Any
        if details is None:
            flow, task, count = state._flow_run_id, state._task_run_id, state._run_count
            extra = None
        elif (details.scheduled_time is None and details.cache_key is None
              and details.cache_expiration is None and details.retriable is None):
            flow, task, count = details.flow_run_id, details.task_run_id, details.run_count
            extra = None
        else:  # scheduling or cache facts: the details object itself
            flow = task = count = None
            extra = details
        places = (1 if flow is ids.flow and flow is not None else ids.at(flow),
                  0 if task is ids.run else ids.at(task), count)
        data = state._data
        self.laid.append((state.type._value_, state.name, state.message,
                          data is not _NO_DATA, None if data is _NO_DATA else data,
                          state.timestamp_s, extra, *places))
        self.index[id(state)] = place = len(self.laid) - 1
        return place


def _rebuilt_state(laid: tuple[Any, ...], made: list[UUID]) -> State:
    kind, name, message, has_data, data, timestamp, details, flow_place, task_place, count = laid
    return _state(kind, name, message, data if has_data else _NO_DATA, timestamp, details,
                  None if flow_place is None else made[flow_place],
                  None if task_place is None else made[task_place], count)


def outcome_to_wire(
    run: TaskRun, state: State, records: tuple[Record, ...],
) -> tuple[Any, ...] | None:
    """An outcome with its records as a plain tuple, or None when it holds what this form does
    not lay out (a record of another type, an id that is not a UUID, ...)."""
    try:
        numbers, fields = _run(run)
        ids = _Ids(run, numbers)
        states = _States(ids)
        at, run_id = ids.at, run.id
        run_state = states.place(run.state)
        final = states.place(state)
        laid = []
        for record in records:
            cls = record.__class__
            layout = _LAYOUTS.get(cls)
            if layout is None:
                raise _Unexpected
            values: list[Any] = list(record)
            for i in layout[0]:
                value = values[i]
                values[i] = 0 if value is run_id else at(value)
            for i in layout[1]:
                values[i] = states.place(values[i])
            laid.append((cls.__name__, *values))
    except Exception:  # a value this form does not lay out: the objects are pickled instead
        return None
    return (_OUTCOME, ids.numbers, fields, run.parameters, run_state, final,
            tuple(states.laid), tuple(laid))


def is_outcome(value: Any) -> bool:
    if value.__class__ is tuple and len(value) == 8 and value[0] == _OUTCOME:
        return True
    _refuse(value, "hw-outcome/", "outcome of a task run")
    return False


def outcome_fields(value: tuple[Any, ...]) -> tuple[TaskRun, State, tuple[Record, ...]]:
    """The run, final state and records of the outcome `outcome_to_wire` laid out."""
    _, numbers, fields, parameters, run_state, final, laid_states, laid_records = value
    made = _uuids(numbers)
    states = [_rebuilt_state(laid, made) for laid in laid_states]
    built: list[Record] = []
    for name, *values in laid_records:
        cls = _RECORD_TYPES[name]
        ids, places = _LAYOUTS[cls]
        for i in ids:
            place = values[i]
            if place is not None:
                values[i] = made[place]
        for i in places:
            values[i] = states[values[i]]
        built.append(_tuple_new(cls, values))
    return _rebuilt_run(fields, parameters, states[run_state], made), states[final], tuple(built)
