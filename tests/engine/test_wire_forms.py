"""What a task run sends to a worker and back (requests, outcomes, runs, states, records) is
pickled in compact forms made for it (`__reduce__`): every field must survive the trip. Each test
walks the fields of its type as the type itself lists them (slots, `_fields`), so a field added
later and left out of the compact form fails here."""

from __future__ import annotations

import pickle
import uuid
from typing import Any

import pytest

from headwater.core.runs import NOT_STARTED, FlowRun, TaskRun
from headwater.core.states import (
    Completed,
    State,
    StateDetails,
    StateType,
    run_state,
)
from headwater.engine.execution import (
    AttemptSettings,
    TaskRunOutcome,
    TaskRunRequest,
    dumps,
    loads,
)
from headwater.events import records


def _slots(cls: type) -> list[str]:
    return [name for klass in cls.__mro__ for name in getattr(klass, "__slots__", ())]


def _trip(value: Any) -> Any:
    return pickle.loads(pickle.dumps(value, protocol=5))


def _state(name: str) -> State:
    return State(StateType.RUNNING, name=name, message=f"{name} message", data=[name],
                 timestamp=12.5)


@pytest.mark.parametrize("cls", [TaskRun, FlowRun])
def test_a_run_keeps_every_slot_across_pickling(cls: type) -> None:
    run = object.__new__(cls)
    given: dict[str, Any] = {}
    for index, name in enumerate(_slots(cls)):
        given[name] = _state(name) if name == "state" else (name, index)
        setattr(run, name, given[name])
    copy = _trip(run)
    assert type(copy) is cls
    for name, value in given.items():
        if name == "state":
            assert (copy.state.name, copy.state.message, copy.state.data) == (
                value.name, value.message, value.data)
        else:
            assert getattr(copy, name) == value, name


@pytest.mark.parametrize("cls", [TaskRun, FlowRun])
def test_a_run_not_started_is_still_not_started_after_pickling(cls: type) -> None:
    run = object.__new__(cls)
    for name in _slots(cls):
        setattr(run, name, None)
    run.state = NOT_STARTED
    assert _trip(run).state is NOT_STARTED


def _same_state(copy: State, state: State) -> None:
    assert type(copy) is State
    assert copy.type is state.type
    for name in _slots(State):
        if name != "_details" and not name.endswith("_id") and name != "_run_count":
            assert getattr(copy, name) == getattr(state, name), name
    for name in _slots(StateDetails):
        assert getattr(copy.state_details, name) == getattr(state.state_details, name), name


def test_a_state_keeps_its_fields_and_its_run_ids_with_or_without_details_made() -> None:
    flow_run_id, task_run_id = uuid.uuid4(), uuid.uuid4()
    lazy = run_state(StateType.COMPLETED, "Completed", flow_run_id, task_run_id, data=3)
    lazy._run_count = 2
    made = run_state(StateType.RUNNING, "Running", flow_run_id, task_run_id)
    made.state_details.run_count = 4  # the engine does this for every state it records
    for state in (lazy, made, Completed(), Completed(data=None, message="m")):
        _same_state(_trip(state), state)
    assert _trip(lazy).state_details.run_count == 2
    assert _trip(made).state_details.run_count == 4
    assert not _trip(Completed()).has_data and _trip(Completed(data=None)).has_data


@pytest.mark.parametrize("slot", _slots(StateDetails))
def test_a_state_keeps_each_of_its_details(slot: str) -> None:
    state = run_state(StateType.SCHEDULED, "Scheduled", uuid.uuid4(), uuid.uuid4())
    setattr(state.state_details, slot, ("given", slot))
    _same_state(_trip(state), state)
    assert getattr(_trip(state).state_details, slot) == ("given", slot)


def test_every_state_type_survives_pickling() -> None:
    for kind in StateType:
        assert _trip(State(kind)).type is kind


def _record_types() -> list[type]:
    return [value for value in vars(records).values()
            if isinstance(value, type) and issubclass(value, tuple) and hasattr(value, "_fields")
            and value.__module__ == records.__name__]


@pytest.mark.parametrize("cls", _record_types(), ids=lambda cls: cls.__name__)
def test_a_record_keeps_its_type_and_every_field_across_pickling(cls: type) -> None:
    record = cls(*((cls.__name__, name) for name in cls._fields))
    copy = _trip(record)
    assert type(copy) is cls and copy == record and copy._fields == cls._fields


def test_requests_outcomes_and_settings_keep_their_type_and_fields() -> None:
    run_id = uuid.uuid4()
    settings = AttemptSettings(log_prints=True, persist_result=False)
    request = TaskRunRequest(*(("request", name) for name in TaskRunRequest._fields))
    outcome = TaskRunOutcome(*(("outcome", name) for name in TaskRunOutcome._fields))
    for value in (settings, request, outcome):
        copy = _trip(value)
        assert type(copy) is type(value) and copy == value
        assert loads(dumps(value), "value") == value
    state = run_state(StateType.COMPLETED, "Completed", None, run_id, data=1)
    created = records.StateChanged(run_id, "task", state, 1)
    sent = loads(dumps(TaskRunOutcome("run", state, (created,))), "outcome")
    assert sent.records[0].state is sent.state  # one object, as it was sent


# -- the compact forms of requests and outcomes (engine/_compact.py) ---------------------------
def _full_task_run() -> TaskRun:
    """A TaskRun with a distinct value in every slot (ids as UUIDs, as the engine makes them)."""
    run = object.__new__(TaskRun)
    for index, name in enumerate(_slots(TaskRun)):
        setattr(run, name, (name, index))
    run.id, run.flow_run_id = uuid.uuid4(), uuid.uuid4()
    run.parameters = {"x": 1}
    run.state = _state("Running")
    return run


def _same_run(copy: TaskRun, run: TaskRun) -> None:
    assert type(copy) is TaskRun
    for name in _slots(TaskRun):
        if name != "state":
            assert getattr(copy, name) == getattr(run, name), name
    _same_state(copy.state, run.state)


def test_a_request_travels_compactly_with_every_field() -> None:
    from headwater.engine import _compact

    run = _full_task_run()
    blocked = _state("Blocked")
    given = {name: ("request", name) for name in TaskRunRequest._fields}
    given.update(task=None, flow_run=None, task_run=run, parameters={"x": 1, "y": [2]},
                 settings=AttemptSettings(log_prints=True, persist_result=False),
                 upstreams=(("x", uuid.uuid4()),), upstream_assets={uuid.uuid4(): frozenset()},
                 blocked=blocked, resume=uuid.uuid4())
    request = TaskRunRequest(**given)
    wire = loads(request.to_bytes(), "request")
    assert _compact.is_request(wire)  # the compact form, not the objects
    fields = _compact.request_fields(wire, len(AttemptSettings._fields))
    copy = TaskRunRequest(*fields[:4], AttemptSettings(*fields[4]), *fields[5:])
    for name in TaskRunRequest._fields:
        if name not in ("task_run", "blocked"):
            assert getattr(copy, name) == getattr(request, name), name
    _same_run(copy.task_run, run)
    _same_state(copy.blocked, blocked)
    assert type(copy.settings) is AttemptSettings


def test_a_request_not_started_and_sharing_its_parameters_keeps_both() -> None:
    from headwater.engine import _compact

    run = _full_task_run()
    run.state = NOT_STARTED
    request = TaskRunRequest(None, run, run.parameters, None,  # type: ignore[arg-type]
                             AttemptSettings(False, True))
    fields = _compact.request_fields(loads(request.to_bytes(shared=False), "request"),
                                     len(AttemptSettings._fields))
    assert fields[1].state is NOT_STARTED and fields[1].parameters is fields[2]


def _full_records(run_id: uuid.UUID, states: list[State]) -> tuple[Any, ...]:
    """One record of every type, each field distinct (ids as UUIDs, states as States)."""
    made = []
    for cls in _record_types():
        values: list[Any] = []
        for name in cls._fields:
            note = cls.__annotations__[name]
            if note.startswith("UUID"):
                values.append(run_id if name in ("run_id", "task_run_id") else uuid.uuid4())
            elif note == "State":
                values.append(states[len(made) % len(states)])
            else:
                values.append((cls.__name__, name))
        made.append(cls(*values))
    return tuple(made)


def test_an_outcome_travels_compactly_with_its_run_states_and_every_record() -> None:
    from headwater.engine import _compact

    run = _full_task_run()
    final = run_state(StateType.COMPLETED, "Completed", run.flow_run_id, run.id, data={"r": 1})
    final.state_details.run_count = 3
    final.message = "a message"
    cached = run_state(StateType.COMPLETED, "Cached", run.flow_run_id, run.id)
    cached.state_details.cache_key = "key"  # details beyond the ids travel as they are
    run.state = final
    other = run_state(StateType.RUNNING, "Running", uuid.uuid4(), uuid.uuid4())  # other ids
    pending = run_state(StateType.PENDING, "Pending", None, run.id)
    sent = (*_full_records(run.id, [cached]),
            *(records.StateChanged(run.id, "task", state, 3) for state in (other, pending, final)))
    wire = _compact.outcome_to_wire(run, final, sent)
    assert wire is not None
    payload = dumps(wire)
    assert _compact.is_outcome(loads(payload, "outcome"))
    outcome = TaskRunOutcome.__new__(TaskRunOutcome, run, final, sent)
    copy = TaskRunRequest.outcome_from_bytes(payload)
    assert type(copy) is TaskRunOutcome
    _same_run(copy.task_run, run)
    _same_state(copy.state, final)
    assert copy.state is copy.task_run.state  # one object, as it was sent
    assert [type(r) for r in copy.records] == [type(r) for r in outcome.records]
    for got, record in zip(copy.records, outcome.records, strict=True):
        for name, value, original in zip(record._fields, got, record, strict=True):
            if isinstance(original, State):
                _same_state(value, original)
            else:
                assert value == original, (type(record).__name__, name)
    assert copy.records[-1].state is copy.state


def test_an_outcome_the_compact_form_does_not_expect_travels_as_objects() -> None:
    from headwater.engine import _compact

    run = _full_task_run()
    odd = records.StateChanged("not-a-uuid", "task", run.state, 1)  # type: ignore[arg-type]
    assert _compact.outcome_to_wire(run, run.state, (odd,)) is None
    run.id = "not-a-uuid"  # type: ignore[assignment]
    assert _compact.outcome_to_wire(run, run.state, ()) is None
    request = TaskRunRequest(None, run, {}, None, AttemptSettings(False, True))  # type: ignore[arg-type]
    copy = loads(request.to_bytes(), "request")
    assert type(copy) is TaskRunRequest and copy.task_run.id == "not-a-uuid"
    odd_settings = _full_task_run()
    request = TaskRunRequest(None, odd_settings, {}, None, None)  # type: ignore[arg-type]
    assert loads(request.to_bytes(), "request").settings is None


def test_bytes_in_the_format_before_the_compact_forms_are_refused_plainly() -> None:
    from headwater.errors import SerializationError

    made_before = b"headwater-run/1 0.0.0\n" + pickle.dumps(("anything",), protocol=5)
    with pytest.raises(SerializationError, match="incompatible headwater versions"):
        loads(made_before, "task run request")


def test_an_outcome_keeps_a_returned_none_apart_from_no_data() -> None:
    from headwater.core.states import _NO_DATA
    from headwater.engine import _compact

    run = _full_task_run()
    returned_none = run_state(StateType.COMPLETED, "Completed", run.flow_run_id, run.id,
                              data=None)
    nothing = run_state(StateType.RUNNING, "Running", run.flow_run_id, run.id)
    run.state = returned_none
    sent = (records.StateChanged(run.id, "task", nothing, 1),
            records.StateChanged(run.id, "task", returned_none, 1))
    wire = _compact.outcome_to_wire(run, returned_none, sent)
    assert wire is not None
    copy = TaskRunRequest.outcome_from_bytes(dumps(wire))
    assert copy.state._data is None and copy.state.result() is None
    assert copy.records[0].state._data is _NO_DATA  # no data: not a returned None


def test_a_run_whose_parameters_are_none_keeps_none() -> None:
    from headwater.engine import _compact

    run = _full_task_run()
    run.parameters = None  # type: ignore[assignment]
    request = TaskRunRequest(None, run, {"x": 1}, None, AttemptSettings(False, True))  # type: ignore[arg-type]
    wire = loads(request.to_bytes(), "request")
    assert _compact.is_request(wire)
    fields = _compact.request_fields(wire, len(AttemptSettings._fields))
    assert fields[1].parameters is None and fields[2] == {"x": 1}


@pytest.mark.parametrize("form", ["request", "outcome"])
def test_a_compact_form_of_another_layout_is_refused_plainly(form: str) -> None:
    from headwater.engine import _compact
    from headwater.errors import SerializationError

    other = (f"hw-{form}/1/00000000", *range(12 if form == "request" else 7))
    check = _compact.is_request if form == "request" else _compact.is_outcome
    with pytest.raises(SerializationError, match="Install the same headwater version"):
        check(other)
    assert check(("something else",)) is False
