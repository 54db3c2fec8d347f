"""Calling a flow: the run it records, what the caller gets back, run names and subflows.

Reference: Prefect 3 semantics digest §0, §1.5, §3.1, §4.3 and §5.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import pytest

from headwater import flow, task
from headwater.errors import FailedRun, ParameterBindError
from headwater.events.memory import MemorySink
from headwater.runtime import flow_run as runtime_flow_run
from headwater.states import Completed, Failed, State, StateType

SLUG = re.compile(r"^[a-z]+-[a-z]+$")


def only_flow_run_id(events: MemorySink) -> UUID:
    [created] = events.flow_runs()
    return created.flow_run_id


# -- a flow call creates a run ---------------------------------------------------------------------
def test_calling_a_flow_records_one_run_with_a_uuid(events: MemorySink) -> None:
    @flow
    def hello() -> str:
        return "hi"

    hello()
    [created] = events.flow_runs()
    assert isinstance(created.flow_run_id, UUID)
    assert created.flow_name == "hello"
    assert created.parent_flow_run_id is None


def test_each_call_of_a_flow_is_a_new_run_with_a_new_id(events: MemorySink) -> None:
    @flow
    def hello() -> None:
        pass

    hello()
    hello()
    ids = [created.flow_run_id for created in events.flow_runs()]
    assert len(ids) == 2
    assert ids[0] != ids[1]


def test_a_flow_run_gets_a_generated_adjective_animal_name(events: MemorySink) -> None:
    @flow
    def hello() -> None:
        pass

    for _ in range(5):
        hello()
    for created in events.flow_runs():
        assert SLUG.match(created.name), created.name
        assert events.run_name(created.flow_run_id) == created.name


def test_the_run_id_and_name_are_visible_to_the_running_flow(events: MemorySink) -> None:
    @flow
    def whoami() -> tuple[Any, Any]:
        return runtime_flow_run.id, runtime_flow_run.name

    run_id, name = whoami()
    [created] = events.flow_runs()
    assert (run_id, name) == (str(created.flow_run_id), created.name)  # str, as in Prefect


def test_a_flow_run_records_its_parameters_including_defaults(events: MemorySink) -> None:
    @flow
    def greet(name, greeting="hello", *, punctuation="!"):  # type: ignore[no-untyped-def]
        return f"{greeting} {name}{punctuation}"

    assert greet("ada") == "hello ada!"
    [created] = events.flow_runs()
    assert created.parameters == {"name": "ada", "greeting": "hello", "punctuation": "!"}


def test_a_successful_flow_run_goes_pending_running_completed(events: MemorySink) -> None:
    @flow
    def hello() -> int:
        return 1

    hello()
    run_id = only_flow_run_id(events)
    assert events.state_names(run_id) == ["Pending", "Running", "Completed"]
    assert [s.type for s in events.states(run_id)] == [
        StateType.PENDING, StateType.RUNNING, StateType.COMPLETED,
    ]


def test_the_final_state_of_a_flow_run_holds_its_return_value(events: MemorySink) -> None:
    @flow
    def hello() -> dict[str, int]:
        return {"answer": 42}

    hello()
    final = events.final_state(only_flow_run_id(events))
    assert final is not None
    assert str(final) == "Completed()"
    assert final.result() == {"answer": 42}


def test_the_return_value_reaches_the_caller_unchanged() -> None:
    payload = object()

    @flow
    def passthrough(value: Any) -> Any:
        return value

    assert passthrough(payload) is payload


def test_a_flow_returning_none_returns_none() -> None:
    @flow
    def nothing() -> None:
        pass

    assert nothing() is None


def test_the_run_logs_beginning_and_finished_lines(events: MemorySink) -> None:
    @flow
    def my_flow() -> None:
        pass

    my_flow()
    [created] = events.flow_runs()
    messages = events.messages(created.flow_run_id)
    assert f"Beginning flow run {created.name!r} for flow 'my-flow'" in messages
    assert "Finished in state Completed()" in messages


# -- exceptions ------------------------------------------------------------------------------------
def test_an_exception_in_a_flow_propagates_with_its_original_type(events: MemorySink) -> None:
    error = ValueError("boom")

    @flow
    def explode() -> None:
        raise error

    with pytest.raises(ValueError, match=r"^boom$") as excinfo:
        explode()
    assert excinfo.value is error


def test_a_flow_that_raises_ends_failed_with_prefects_message(events: MemorySink) -> None:
    @flow
    def explode() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError):
        explode()
    run_id = only_flow_run_id(events)
    assert events.state_names(run_id) == ["Pending", "Running", "Failed"]
    final = events.final_state(run_id)
    assert final is not None
    assert final.message == "Flow run encountered an exception: ValueError: boom"
    assert str(final) == "Failed('Flow run encountered an exception: ValueError: boom')"


def test_a_custom_exception_type_reaches_the_caller() -> None:
    class PipelineError(Exception):
        pass

    @flow
    def explode() -> None:
        raise PipelineError("bad batch")

    with pytest.raises(PipelineError, match="bad batch"):
        explode()


# -- return_state ----------------------------------------------------------------------------------
def test_return_state_returns_the_completed_state_with_the_result(events: MemorySink) -> None:
    @flow
    def hello() -> int:
        return 7

    state = hello(return_state=True)
    assert isinstance(state, State)
    assert state.is_completed()
    assert state.result() == 7
    assert state is events.final_state(only_flow_run_id(events))


def test_return_state_returns_a_failed_state_instead_of_raising(events: MemorySink) -> None:
    @flow
    def explode() -> None:
        raise ValueError("boom")

    state = explode(return_state=True)
    assert state.is_failed()
    assert state.message == "Flow run encountered an exception: ValueError: boom"
    with pytest.raises(ValueError, match="boom"):
        state.result()
    assert isinstance(state.result(raise_on_failure=False), ValueError)


def test_return_state_is_not_passed_to_the_flow_function() -> None:
    seen: list[dict[str, Any]] = []

    @flow
    def capture(**kwargs: Any) -> None:
        seen.append(kwargs)

    capture(a=1, return_state=True)
    assert seen == [{"a": 1}]


# -- flow_run_name ---------------------------------------------------------------------------------
def test_flow_run_name_is_a_template_over_the_parameters(events: MemorySink) -> None:
    @flow(flow_run_name="load-{table}-{day}")
    def load(table, day="monday"):  # type: ignore[no-untyped-def]
        pass

    load("users")
    assert events.run_name(only_flow_run_id(events)) == "load-users-monday"


def test_flow_run_name_templates_see_validated_parameters(events: MemorySink) -> None:
    @flow(flow_run_name="batch-{n:03d}")
    def batch(n: int) -> None:
        pass

    batch("7")  # type: ignore[arg-type]  # coerced to 7 before the name is built
    assert events.run_name(only_flow_run_id(events)) == "batch-007"


def test_the_templated_name_is_what_the_running_flow_sees(events: MemorySink) -> None:
    @flow(flow_run_name="run-{x}")
    def named(x: int) -> str:
        return str(runtime_flow_run.name)

    assert named(3) == "run-3"
    [created] = events.flow_runs()
    assert created.name == "run-3"
    assert "Beginning flow run 'run-3' for flow 'named'" in events.messages(created.flow_run_id)


def test_flow_run_name_can_be_a_callable(events: MemorySink) -> None:
    def make_name() -> str:
        return "from-a-callable"

    @flow(flow_run_name=make_name)
    def named() -> None:
        pass

    named()
    assert events.run_name(only_flow_run_id(events)) == "from-a-callable"


def test_a_flow_run_name_callable_can_read_the_runtime_parameters(events: MemorySink) -> None:
    def make_name() -> str:
        return f"for-{runtime_flow_run.parameters['who']}"

    @flow(flow_run_name=make_name)
    def greet(who: str) -> None:
        pass

    greet("ada")
    assert events.run_name(only_flow_run_id(events)) == "for-ada"


def test_a_flow_run_name_callable_returning_a_non_string_is_a_type_error(
    events: MemorySink,
) -> None:
    # Prefect: TypeError("Callable <fn> for 'flow_run_name' returned type int but a string is
    # required.")
    def bad_name() -> int:
        return 3

    @flow(flow_run_name=bad_name)  # type: ignore[arg-type]
    def named() -> None:
        pass

    with pytest.raises(TypeError, match="flow_run_name") as excinfo:
        named()
    assert "int" in str(excinfo.value)


def test_a_bad_flow_run_name_callable_is_reported_before_the_flow_body_runs(
    events: MemorySink,
) -> None:
    ran: list[bool] = []

    @flow(flow_run_name=lambda: 3)  # type: ignore[arg-type,return-value]
    def named() -> None:
        ran.append(True)

    with pytest.raises(Exception, match="flow_run_name"):
        named()
    assert ran == []
    names = events.state_names(only_flow_run_id(events))
    assert "Running" not in names
    assert names[-1] == "Failed"


def test_a_flow_run_name_template_naming_an_unknown_parameter_is_a_clear_error(
    events: MemorySink,
) -> None:
    ran: list[bool] = []

    @flow(flow_run_name="run-{missing}")
    def named(x: int = 1) -> None:
        ran.append(True)

    with pytest.raises(Exception) as excinfo:  # the type is checked below
        named()
    message = str(excinfo.value)
    assert "flow_run_name" in message
    assert "missing" in message
    assert isinstance(excinfo.value, (KeyError, ValueError))
    assert ran == []


# -- the final state follows what the function returns --------------------------------------------
def test_a_flow_that_catches_a_task_failure_ends_completed(events: MemorySink) -> None:
    @task
    def fragile() -> None:
        raise ValueError("task boom")

    @flow
    def tolerant() -> str:
        try:
            fragile()
        except ValueError:
            return "recovered"
        return "unreachable"

    assert tolerant() == "recovered"
    flow_id = only_flow_run_id(events)
    assert events.state_names(flow_id)[-1] == "Completed"
    [task_created] = events.task_runs_of(flow_id)
    assert events.state_names(task_created.task_run_id)[-1] == "Failed"


def test_a_flow_that_ignores_a_failed_task_state_ends_completed(events: MemorySink) -> None:
    @task
    def fragile() -> None:
        raise ValueError("task boom")

    @flow
    def careless() -> int:
        fragile(return_state=True)
        return 1

    assert careless() == 1
    assert events.state_names(only_flow_run_id(events))[-1] == "Completed"


def test_a_flow_returning_a_failed_task_state_ends_failed_by_the_aggregate_rule(
    events: MemorySink,
) -> None:
    @task
    def fragile() -> None:
        raise ValueError("task boom")

    @flow
    def returns_state() -> State:
        return fragile(return_state=True)  # type: ignore[no-any-return]

    state = returns_state(return_state=True)
    assert state.is_failed()
    assert state.message == "1/1 states failed."
    flow_final = events.final_state(only_flow_run_id(events))
    assert flow_final is not None
    assert str(flow_final) == "Failed('1/1 states failed.')"


def test_calling_a_flow_that_returns_a_failed_task_state_raises_the_task_exception() -> None:
    @task
    def fragile() -> None:
        raise ValueError("task boom")

    @flow
    def returns_state() -> State:
        return fragile(return_state=True)  # type: ignore[no-any-return]

    with pytest.raises(ValueError, match="task boom"):
        returns_state()


def test_a_flow_returning_one_failed_and_one_completed_task_state_fails_one_of_two() -> None:
    @task
    def good() -> int:
        return 1

    @task
    def bad() -> None:
        raise ValueError("bad")

    @flow
    def both() -> tuple[State, State]:
        return bad(return_state=True), good(return_state=True)

    state = both(return_state=True)
    assert state.is_failed()
    assert state.message == "1/2 states failed."


def test_a_flow_returning_completed_task_states_ends_completed() -> None:
    @task
    def good(x: int) -> int:
        return x

    @flow
    def all_good() -> list[State]:
        return [good(1, return_state=True), good(2, return_state=True)]

    state = all_good(return_state=True)
    assert state.is_completed()
    assert state.message == "All states completed."
    assert [s.result() for s in state.result()] == [1, 2]


def test_a_flow_returning_a_dict_of_failed_states_ends_completed() -> None:
    @task
    def bad() -> None:
        raise ValueError("bad")

    @flow
    def returns_dict() -> dict[str, State]:
        return {"bad": bad(return_state=True)}

    state = returns_dict(return_state=True)
    assert state.is_completed()
    assert state.result()["bad"].is_failed()


def test_a_flow_returning_a_manual_failed_state_uses_it_as_it_is(events: MemorySink) -> None:
    @flow
    def manual() -> State:
        return State(type=StateType.FAILED, message="Test returned state", data="hello!")

    state = manual(return_state=True)
    assert state.is_failed()
    assert state.message == "Test returned state"
    assert events.final_state(only_flow_run_id(events)) is state
    # Prefect: `state.result(raise_on_failure=False) == "hello!"`.
    assert state.result(raise_on_failure=False) == "hello!"


def test_calling_a_flow_that_returns_a_manual_failed_state_raises_failed_run() -> None:
    @flow
    def manual() -> State:
        return Failed(message="nope")

    with pytest.raises(FailedRun, match="nope"):
        manual()


def test_a_flow_returning_a_manual_completed_state_without_data_returns_none(
    events: MemorySink,
) -> None:
    # Prefect stores the (None) data of a hand-made state as its result, so the call gives None.
    @flow
    def manual() -> State:
        return Completed(message="nothing to do")

    assert manual() is None
    final = events.final_state(only_flow_run_id(events))
    assert final is not None
    assert str(final) == "Completed('nothing to do')"


# -- subflows --------------------------------------------------------------------------------------
def test_a_flow_called_inside_a_flow_is_a_subflow_linked_to_its_parent(
    events: MemorySink,
) -> None:
    @flow
    def child(x: int) -> int:
        return x * 2

    @flow
    def parent() -> int:
        return child(21)

    assert parent() == 42
    parent_created, child_created = events.flow_runs()
    assert parent_created.flow_name == "parent"
    assert child_created.flow_name == "child"
    assert parent_created.parent_flow_run_id is None
    assert child_created.parent_flow_run_id == parent_created.flow_run_id
    assert events.child_flow_runs(parent_created.flow_run_id) == [child_created]
    assert events.state_names(child_created.flow_run_id) == ["Pending", "Running", "Completed"]


def test_a_subflow_sees_its_parent_in_the_runtime(events: MemorySink) -> None:
    @flow
    def child() -> Any:
        return runtime_flow_run.parent_flow_run_id

    @flow
    def parent() -> tuple[Any, Any]:
        return runtime_flow_run.id, child()

    parent_id, seen_parent = parent()
    assert seen_parent == parent_id


def test_a_subflow_logs_beginning_subflow_run(events: MemorySink) -> None:
    @flow
    def child_flow() -> None:
        pass

    @flow
    def parent() -> None:
        child_flow()

    parent()
    parent_created, child_created = events.flow_runs()
    assert (
        f"Beginning subflow run {child_created.name!r} for flow 'child-flow'"
        in events.messages(child_created.flow_run_id)
    )
    assert (
        f"Beginning flow run {parent_created.name!r} for flow 'parent'"
        in events.messages(parent_created.flow_run_id)
    )


def test_tasks_called_in_a_subflow_belong_to_the_subflow(events: MemorySink) -> None:
    @task
    def step() -> int:
        return 1

    @flow
    def child() -> int:
        return step()

    @flow
    def parent() -> int:
        return child() + step()

    assert parent() == 2
    parent_created, child_created = events.flow_runs()
    assert len(events.task_runs_of(child_created.flow_run_id)) == 1
    assert len(events.task_runs_of(parent_created.flow_run_id)) == 1


def test_a_failing_subflow_raises_in_the_parent_with_its_type(events: MemorySink) -> None:
    @flow
    def child_fail() -> None:
        raise ValueError("child boom")

    @flow
    def parent() -> None:
        child_fail()

    with pytest.raises(ValueError, match="child boom"):
        parent()
    parent_created, child_created = events.flow_runs()
    for run_id in (parent_created.flow_run_id, child_created.flow_run_id):
        final = events.final_state(run_id)
        assert final is not None
        assert str(final) == "Failed('Flow run encountered an exception: ValueError: child boom')"


def test_a_parent_can_catch_a_failing_subflow_and_complete(events: MemorySink) -> None:
    @flow
    def child_fail() -> None:
        raise KeyError("missing")

    @flow
    def parent() -> str:
        try:
            child_fail()
        except KeyError:
            return "handled"
        return "unreachable"

    assert parent() == "handled"
    parent_created, child_created = events.flow_runs()
    assert events.state_names(parent_created.flow_run_id)[-1] == "Completed"
    assert events.state_names(child_created.flow_run_id)[-1] == "Failed"


def test_a_subflow_called_with_return_state_lets_the_parent_continue(events: MemorySink) -> None:
    @flow
    def child_fail() -> None:
        raise ValueError("child boom")

    @flow
    def parent() -> str:
        state = child_fail(return_state=True)
        assert state.is_failed()
        return "kept going"

    assert parent() == "kept going"
    parent_created, _ = events.flow_runs()
    assert events.state_names(parent_created.flow_run_id)[-1] == "Completed"


def test_a_flow_returning_a_failed_subflow_state_fails_by_the_aggregate_rule() -> None:
    @flow
    def child_ok() -> int:
        return 1

    @flow
    def child_fail() -> None:
        raise ValueError("child boom")

    @flow
    def parent() -> tuple[State, State]:
        return child_ok(return_state=True), child_fail(return_state=True)

    state = parent(return_state=True)
    assert state.is_failed()
    assert state.message == "1/2 states failed."


def test_a_subflow_called_from_a_task_records_the_parent_task_run(events: MemorySink) -> None:
    @flow
    def child() -> int:
        return 5

    @task
    def launcher() -> int:
        return child()

    @flow
    def parent() -> int:
        return launcher()

    assert parent() == 5
    parent_created, child_created = events.flow_runs()
    [task_created] = events.task_runs()
    assert child_created.parent_task_run_id == task_created.task_run_id
    assert child_created.parent_flow_run_id == parent_created.flow_run_id


def test_subflows_nest_more_than_one_level(events: MemorySink) -> None:
    @flow
    def leaf() -> str:
        return "leaf"

    @flow
    def middle() -> str:
        return leaf()

    @flow
    def root() -> str:
        return middle()

    assert root() == "leaf"
    root_created, middle_created, leaf_created = events.flow_runs()
    assert middle_created.parent_flow_run_id == root_created.flow_run_id
    assert leaf_created.parent_flow_run_id == middle_created.flow_run_id


# -- binding ---------------------------------------------------------------------------------------
def test_a_call_with_too_many_arguments_raises_parameter_bind_error_before_any_run(
    events: MemorySink,
) -> None:
    ran: list[bool] = []

    @flow
    def f(x: int, y: int) -> None:
        ran.append(True)

    with pytest.raises(ParameterBindError) as excinfo:
        f(1, 2, 3)  # type: ignore[call-arg]
    assert isinstance(excinfo.value, TypeError)
    assert "Error binding parameters for function 'f'" in str(excinfo.value)
    assert events.flow_runs() == []
    assert ran == []


def test_a_call_with_an_unknown_keyword_raises_parameter_bind_error(events: MemorySink) -> None:
    @flow
    def f(x: int) -> None:
        pass

    with pytest.raises(TypeError, match="Error binding parameters"):
        f(1, z=2)  # type: ignore[call-arg]
    assert events.flow_runs() == []


def test_a_call_missing_a_required_argument_raises_parameter_bind_error(
    events: MemorySink,
) -> None:
    @flow
    def f(x: int, y: int) -> None:
        pass

    with pytest.raises(ParameterBindError, match="'y'"):
        f(1)  # type: ignore[call-arg]
    assert len(events) == 0


def test_a_subflow_with_a_bad_call_signature_raises_in_the_parent(events: MemorySink) -> None:
    @flow
    def child(x: int) -> None:
        pass

    @flow
    def parent() -> None:
        child()  # type: ignore[call-arg]

    with pytest.raises(ParameterBindError):
        parent()
    [parent_created] = events.flow_runs()
    assert events.state_names(parent_created.flow_run_id)[-1] == "Failed"
