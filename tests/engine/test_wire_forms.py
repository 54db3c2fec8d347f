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
