"""States: types, names, predicates, display, `result()` and the aggregate rule.

The reference is Prefect 3 (`client/schemas/objects.py` State, `states.py`), digest §4.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from uuid import uuid4

import pytest

from headwater.core.states import return_value_to_state
from headwater.errors import (
    CancelledRun,
    CrashedRun,
    FailedRun,
    HeadwaterError,
    MissingResult,
    PausedRun,
    RunStateError,
    UnfinishedRun,
)
from headwater.states import (
    AwaitingRetry,
    Cached,
    Cancelled,
    Cancelling,
    Completed,
    Crashed,
    Failed,
    Late,
    NotReady,
    Paused,
    Pending,
    Retrying,
    Running,
    Scheduled,
    State,
    StateType,
    Suspended,
    TimedOut,
    get_state_exception,
)

CONSTRUCTORS: list[tuple[Callable[..., State], StateType, str]] = [
    (Completed, StateType.COMPLETED, "Completed"),
    (Failed, StateType.FAILED, "Failed"),
    (Crashed, StateType.CRASHED, "Crashed"),
    (Cancelled, StateType.CANCELLED, "Cancelled"),
    (Cancelling, StateType.CANCELLING, "Cancelling"),
    (Running, StateType.RUNNING, "Running"),
    (Pending, StateType.PENDING, "Pending"),
    (Scheduled, StateType.SCHEDULED, "Scheduled"),
    (Cached, StateType.COMPLETED, "Cached"),
    (Retrying, StateType.RUNNING, "Retrying"),
    (AwaitingRetry, StateType.SCHEDULED, "AwaitingRetry"),
    (TimedOut, StateType.FAILED, "TimedOut"),
    (Paused, StateType.PAUSED, "Paused"),
    (NotReady, StateType.PENDING, "NotReady"),
    (Late, StateType.SCHEDULED, "Late"),
    (Suspended, StateType.PAUSED, "Suspended"),
]

FINAL_TYPES = {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}

PREDICATES = {
    StateType.SCHEDULED: "is_scheduled",
    StateType.PENDING: "is_pending",
    StateType.RUNNING: "is_running",
    StateType.COMPLETED: "is_completed",
    StateType.FAILED: "is_failed",
    StateType.CRASHED: "is_crashed",
    StateType.CANCELLED: "is_cancelled",
    StateType.CANCELLING: "is_cancelling",
    StateType.PAUSED: "is_paused",
}


def linked(state: State) -> State:
    """The state as the engine would hand it over: attached to a (task) run."""
    state.state_details.task_run_id = uuid4()
    return state


# -- StateType -----------------------------------------------------------------------------------
def test_state_type_has_exactly_prefects_nine_members() -> None:
    assert {member.name for member in StateType} == {
        "SCHEDULED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "CRASHED",
        "PAUSED", "CANCELLING",
    }


@pytest.mark.parametrize("member", list(StateType), ids=lambda m: m.name)
def test_each_state_type_value_is_its_upper_case_name(member: StateType) -> None:
    assert member.value == member.name
    assert StateType(member.name) is member


# -- State and its name ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("state_type", "name"),
    [
        (StateType.COMPLETED, "Completed"),
        (StateType.FAILED, "Failed"),
        (StateType.SCHEDULED, "Scheduled"),
        (StateType.CANCELLING, "Cancelling"),
        (StateType.CRASHED, "Crashed"),
    ],
)
def test_a_state_without_a_name_is_named_after_its_type_in_title_case(
    state_type: StateType, name: str
) -> None:
    assert State(type=state_type).name == name


def test_a_state_accepts_its_type_as_a_string() -> None:
    state = State(type="COMPLETED")  # type: ignore[arg-type]
    assert state.type is StateType.COMPLETED
    assert state.name == "Completed"


def test_a_state_keeps_the_name_message_and_data_it_was_given() -> None:
    state = State(type=StateType.FAILED, name="Exploded", message="it broke", data="payload")
    assert (state.type, state.name, state.message, state.data) == (
        StateType.FAILED, "Exploded", "it broke", "payload",
    )


def test_a_state_timestamp_is_an_aware_utc_datetime_of_its_creation() -> None:
    before = datetime.now(timezone.utc)
    state = Completed()
    after = datetime.now(timezone.utc)
    assert state.timestamp.tzinfo is not None
    assert before <= state.timestamp <= after


def test_a_state_without_data_has_none_as_data() -> None:
    assert Completed().data is None


# -- constructors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("constructor", "state_type", "name"), CONSTRUCTORS, ids=[c[2] for c in CONSTRUCTORS]
)
def test_each_constructor_builds_a_state_of_the_right_type_and_name(
    constructor: Callable[..., State], state_type: StateType, name: str
) -> None:
    state = constructor()
    assert isinstance(state, State)
    assert state.type is state_type
    assert state.name == name
    assert state.message is None


@pytest.mark.parametrize(
    ("constructor", "state_type", "name"), CONSTRUCTORS, ids=[c[2] for c in CONSTRUCTORS]
)
def test_each_constructor_accepts_a_message_and_data(
    constructor: Callable[..., State], state_type: StateType, name: str
) -> None:
    state = constructor(message="why", data={"k": 1})
    assert state.message == "why"
    assert state.data == {"k": 1}
    assert state.type is state_type


def test_a_constructor_lets_the_caller_override_the_name() -> None:
    state = Completed(name="Skipped")
    assert state.name == "Skipped"
    assert state.type is StateType.COMPLETED


def test_scheduled_states_record_their_scheduled_time() -> None:
    assert Scheduled(scheduled_time=1234.5).state_details.scheduled_time == 1234.5
    assert AwaitingRetry(scheduled_time=99.0).state_details.scheduled_time == 99.0
    assert Late(scheduled_time=7.0).state_details.scheduled_time == 7.0


def test_a_scheduled_state_without_a_time_is_scheduled_for_now() -> None:
    state = Scheduled()
    assert state.state_details.scheduled_time is not None
    assert abs(state.state_details.scheduled_time - datetime.now().timestamp()) < 5


# -- predicates ------------------------------------------------------------------------------------
@pytest.mark.parametrize("state_type", list(StateType), ids=lambda t: t.name)
def test_exactly_one_type_predicate_is_true_for_each_state_type(state_type: StateType) -> None:
    state = State(type=state_type)
    truths = {name: getattr(state, name)() for name in PREDICATES.values()}
    assert truths == {name: name == PREDICATES[state_type] for name in PREDICATES.values()}


@pytest.mark.parametrize("state_type", list(StateType), ids=lambda t: t.name)
def test_only_completed_failed_crashed_and_cancelled_states_are_final(
    state_type: StateType,
) -> None:
    assert State(type=state_type).is_final() is (state_type in FINAL_TYPES)


@pytest.mark.parametrize(
    ("state", "predicate"),
    [
        (Cached(), "is_completed"),
        (Retrying(), "is_running"),
        (AwaitingRetry(), "is_scheduled"),
        (Late(), "is_scheduled"),
        (TimedOut(), "is_failed"),
        (NotReady(), "is_pending"),
        (Suspended(), "is_paused"),
    ],
    ids=lambda v: v if isinstance(v, str) else v.name,
)
def test_named_states_answer_the_predicate_of_their_type(state: State, predicate: str) -> None:
    assert getattr(state, predicate)() is True


# -- display ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("state", "text"),
    [
        (Completed(), "Completed()"),
        (Completed(data=5), "Completed()"),
        (Cached(), "Cached(type=COMPLETED)"),
        (Failed(message="boom"), "Failed('boom')"),
        (
            Failed(message="Task run encountered an exception ValueError: x"),
            "Failed('Task run encountered an exception ValueError: x')",
        ),
        (
            TimedOut(message="Task run exceeded timeout of 0.5 second(s)"),
            "TimedOut('Task run exceeded timeout of 0.5 second(s)', type=FAILED)",
        ),
        (
            NotReady(message="Upstream task run 'abc' did not reach a 'COMPLETED' state."),
            "NotReady(\"Upstream task run 'abc' did not reach a 'COMPLETED' state.\", "
            "type=PENDING)",
        ),
        (Retrying(), "Retrying(type=RUNNING)"),
        (AwaitingRetry(), "AwaitingRetry(type=SCHEDULED)"),
        (Suspended(), "Suspended(type=PAUSED)"),
        (Cancelling(), "Cancelling()"),
        (Running(), "Running()"),
        (Pending(), "Pending()"),
        (Crashed(message="gone"), "Crashed('gone')"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_str_of_a_state_prints_the_way_prefect_prints_it(state: State, text: str) -> None:
    assert str(state) == text


def test_str_of_states_sharing_a_name_follows_each_ones_type_and_message() -> None:
    # str() of a state without a message is remembered by name: a second type, or a message,
    # under the same name must still print its own way, in either order.
    for _ in range(2):
        assert str(State(type="COMPLETED", name="Done")) == "Done(type=COMPLETED)"
        assert str(State(type="FAILED", name="Done")) == "Done(type=FAILED)"
        assert str(State(type="FAILED", name="Done", message="m")) == "Done('m', type=FAILED)"
        assert str(Completed()) == "Completed()"
        assert str(State(type="FAILED", name="Completed")) == "Completed(type=FAILED)"


def test_repr_of_a_state_shows_message_type_and_result() -> None:
    assert repr(Completed(data=1)) == "Completed(message=None, type=COMPLETED, result=1)"
    assert (
        repr(Failed(message="manual fail", data="payload"))
        == "Failed(message='manual fail', type=FAILED, result='payload')"
    )
    assert repr(Cached(data=[1])) == "Cached(message=None, type=COMPLETED, result=[1])"


def test_repr_of_a_state_without_data_shows_result_none() -> None:
    assert repr(Running()) == "Running(message=None, type=RUNNING, result=None)"


# -- result() --------------------------------------------------------------------------------------
def test_result_of_a_completed_state_is_its_data() -> None:
    assert Completed(data=42).result() == 42
    assert Cached(data="hit").result() == "hit"


def test_result_of_a_failed_state_raises_the_stored_exception_itself() -> None:
    error = ValueError("boom")
    with pytest.raises(ValueError, match="boom") as excinfo:
        Failed(data=error).result()
    assert excinfo.value is error


def test_result_of_a_crashed_state_raises_the_stored_exception() -> None:
    error = RuntimeError("interrupted")
    with pytest.raises(RuntimeError) as excinfo:
        Crashed(data=error).result()
    assert excinfo.value is error


def test_result_without_raise_on_failure_returns_the_stored_exception() -> None:
    error = ValueError("boom")
    assert Failed(data=error).result(raise_on_failure=False) is error


@pytest.mark.parametrize(
    ("state", "type_name"),
    [(Running(), "RUNNING"), (Pending(), "PENDING"), (Scheduled(), "SCHEDULED"),
     (Retrying(), "RUNNING"), (NotReady(), "PENDING"), (Cancelling(), "CANCELLING")],
    ids=lambda v: v if isinstance(v, str) else v.name,
)
def test_result_of_an_unfinished_state_raises_unfinished_run(state: State, type_name: str) -> None:
    with pytest.raises(
        UnfinishedRun,
        match=rf"^{re.escape(f'Run is in {type_name} state, its result is not available.')}$",
    ):
        state.result()


@pytest.mark.parametrize("state", [Paused(), Suspended()], ids=["Paused", "Suspended"])
def test_result_of_a_paused_state_raises_paused_run(state: State) -> None:
    expected = re.escape("Run is paused, its result is not available.")
    with pytest.raises(PausedRun, match=rf"^{expected}$"):
        state.result()


def test_result_of_an_unfinished_state_raises_even_without_raise_on_failure() -> None:
    with pytest.raises(UnfinishedRun):
        Running().result(raise_on_failure=False)


def test_result_of_a_completed_state_built_without_data_raises_missing_result() -> None:
    with pytest.raises(MissingResult, match="State data is missing"):
        Completed().result()


@pytest.mark.parametrize(
    ("state", "wrapper", "text"),
    [
        (Failed(message="it broke"), FailedRun, "it broke"),
        (Failed(), FailedRun, "Run failed."),
        (Crashed(message="lost the worker"), CrashedRun, "lost the worker"),
        (Crashed(), CrashedRun, "Run crashed."),
        (Cancelled(message="stopped by user"), CancelledRun, "stopped by user"),
        (Cancelled(), CancelledRun, "Run cancelled."),
        (TimedOut(message="too slow"), FailedRun, "too slow"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_final_non_completed_state_without_data_raises_its_wrapper_exception(
    state: State, wrapper: type[Exception], text: str
) -> None:
    with pytest.raises(wrapper) as excinfo:
        state.result()
    assert str(excinfo.value) == text


def test_a_failed_state_without_data_returns_its_wrapper_exception_without_raise_on_failure(
) -> None:
    returned = Failed(message="it broke").result(raise_on_failure=False)
    assert isinstance(returned, FailedRun)
    assert str(returned) == "it broke"


def test_a_failed_state_with_string_data_raises_failed_run_with_that_string() -> None:
    # Prefect's get_state_exception: `elif isinstance(result, str): return wrapper(result)`.
    with pytest.raises(FailedRun) as excinfo:
        Failed(message="the message", data="the payload").result()
    assert str(excinfo.value) == "the payload"


def test_a_failed_state_with_data_returns_that_data_without_raise_on_failure() -> None:
    # Prefect's _get_state_result returns `state.data` whenever it is not None.
    assert Failed(message="m", data="hello!").result(raise_on_failure=False) == "hello!"


def test_a_failed_state_holding_a_failed_state_raises_the_inner_exception() -> None:
    inner = Failed(data=KeyError("inner"))
    with pytest.raises(KeyError, match="inner"):
        Failed(data=inner).result()


def test_a_failed_state_holding_states_raises_the_first_failure() -> None:
    first, second = ValueError("first"), ValueError("second")
    states = [Completed(data=1), Failed(data=first), Failed(data=second)]
    with pytest.raises(ValueError) as excinfo:
        Failed(data=states).result()
    assert excinfo.value is first


def test_a_failed_state_holding_an_unexpected_value_raises_a_type_error() -> None:
    with pytest.raises(TypeError, match="Unexpected result for failed state"):
        Failed(data=42).result()


def test_get_state_exception_returns_the_exception_a_state_stands_for() -> None:
    error = OSError("disk")
    assert get_state_exception(Failed(data=error)) is error
    assert isinstance(get_state_exception(Crashed()), CrashedRun)
    assert isinstance(get_state_exception(Cancelled()), CancelledRun)


def test_run_state_errors_are_headwater_errors() -> None:
    for kind in (UnfinishedRun, PausedRun, FailedRun, CrashedRun, CancelledRun):
        assert issubclass(kind, RunStateError)
        assert issubclass(kind, HeadwaterError)
    assert issubclass(MissingResult, HeadwaterError)


# -- the aggregate rule (return_value_to_state) --------------------------------------------------
def test_plain_data_becomes_a_completed_state_holding_it() -> None:
    state = return_value_to_state({"rows": 3})
    assert state.is_completed()
    assert state.name == "Completed"
    assert state.message is None
    assert state.result() == {"rows": 3}


def test_returning_none_gives_a_completed_state_whose_result_is_none() -> None:
    state = return_value_to_state(None)
    assert state.is_completed()
    assert state.result() is None


def test_a_manually_created_state_is_used_as_it_is() -> None:
    manual = Failed(message="Test returned state", data="hello!")
    assert return_value_to_state(manual) is manual


def test_a_manually_created_completed_state_is_used_as_it_is() -> None:
    manual = Completed(message="skipped on purpose", data=0)
    state = return_value_to_state(manual)
    assert state is manual
    assert str(state) == "Completed('skipped on purpose')"


def test_a_single_completed_state_of_a_run_aggregates_to_all_states_completed() -> None:
    upstream = linked(Completed(data=1))
    state = return_value_to_state(upstream)
    assert state is not upstream
    assert state.is_completed()
    assert state.message == "All states completed."
    assert state.result() is upstream


def test_a_single_failed_state_of_a_run_aggregates_to_one_of_one_failed() -> None:
    error = ValueError("boom")
    upstream = linked(Failed(data=error))
    state = return_value_to_state(upstream)
    assert state.is_failed()
    assert state.message == "1/1 states failed."
    with pytest.raises(ValueError) as excinfo:
        state.result()
    assert excinfo.value is error


def test_all_completed_states_aggregate_to_completed() -> None:
    states = [linked(Completed(data=1)), linked(Completed(data=2))]
    state = return_value_to_state(states)
    assert state.is_completed()
    assert state.message == "All states completed."
    assert state.result() is states


def test_one_failed_of_two_aggregates_to_failed_with_a_count() -> None:
    states = (linked(Failed(data=ValueError("bad"))), linked(Completed(data=2)))
    state = return_value_to_state(states)
    assert state.is_failed()
    assert state.message == "1/2 states failed."
    assert str(state) == "Failed('1/2 states failed.')"


def test_crashed_states_count_as_failed_in_the_aggregate() -> None:
    states = [linked(Failed()), linked(Crashed()), linked(Completed(data=1))]
    state = return_value_to_state(states)
    assert state.is_failed()
    assert state.message == "2/3 states failed."


def test_a_cancelled_state_makes_the_aggregate_cancelled_even_next_to_a_failure() -> None:
    states = [linked(Cancelled()), linked(Failed()), linked(Completed(data=1))]
    state = return_value_to_state(states)
    assert state.is_cancelled()
    assert state.message == "1/3 states cancelled."


def test_a_paused_state_makes_the_aggregate_paused_when_nothing_was_cancelled() -> None:
    states = [linked(Paused()), linked(Failed()), linked(Completed(data=1))]
    state = return_value_to_state(states)
    assert state.is_paused()
    assert state.message == "1/3 states paused."


def test_unfinished_states_make_the_aggregate_failed_as_not_final() -> None:
    states = [linked(Running()), linked(Pending()), linked(Completed(data=1))]
    state = return_value_to_state(states)
    assert state.is_failed()
    assert state.message == "2/3 states are not final."


def test_lists_of_manually_created_states_are_aggregated_too() -> None:
    state = return_value_to_state([Completed(data=1), Failed(message="nope")])
    assert state.is_failed()
    assert state.message == "1/2 states failed."


def test_a_set_of_states_is_aggregated() -> None:
    state = return_value_to_state({linked(Completed(data=1)), linked(Completed(data=2))})
    assert state.is_completed()
    assert state.message == "All states completed."


def test_the_aggregate_without_raise_on_failure_returns_the_returned_states() -> None:
    # Prefect: the aggregate's data is the returned object, and `result(raise_on_failure=False)`
    # hands it back.
    states = [linked(Failed(data=ValueError("bad"))), linked(Completed(data=2))]
    assert return_value_to_state(states).result(raise_on_failure=False) is states


def test_a_dict_of_states_is_not_aggregated() -> None:
    returned = {"bad": linked(Failed()), "good": linked(Completed(data=1))}
    state = return_value_to_state(returned)
    assert state.is_completed()
    assert state.message is None
    assert state.result() is returned


def test_a_list_mixing_states_and_values_is_plain_data() -> None:
    returned = [linked(Failed()), 1]
    state = return_value_to_state(returned)
    assert state.is_completed()
    assert state.result() is returned


def test_an_empty_list_is_plain_data() -> None:
    state = return_value_to_state([])
    assert state.is_completed()
    assert state.result() == []


def test_the_states_of_a_run_carry_its_ids_and_run_count_in_their_details() -> None:
    from headwater import flow, task

    @task
    def one() -> int:
        return 1

    @flow
    def f() -> tuple[Any, ...]:
        future = one.submit()
        future.wait()
        return future.state, future.task_run, one(return_state=True)

    final, run, direct = f()
    for state in (final, direct):
        details = state.state_details
        assert details.task_run_id is not None and details.flow_run_id is not None
        assert details.run_count == 1 and details.cache_key is None
        assert state.state_details is details  # made once, then kept
    assert final.state_details.task_run_id == run.id


def test_details_set_on_a_state_replace_the_ones_it_would_make() -> None:
    import pickle

    from headwater.core.states import StateDetails, run_state

    state = run_state(StateType.PENDING, "Pending", None, None)
    given = StateDetails(cache_key="k", run_count=3)
    state.state_details = given
    assert state.state_details is given
    copy = pickle.loads(pickle.dumps(state))
    assert (copy.state_details.cache_key, copy.state_details.run_count) == ("k", 3)
    assert Completed().state_details.task_run_id is None
