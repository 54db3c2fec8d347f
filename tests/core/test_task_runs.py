"""Calling a task: inline in the caller's thread, recorded as a task run, in or out of a flow.

Reference: Prefect 3 semantics digest §0.2, §1.3, §1.5 and §3.2.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from uuid import UUID

import pytest

from headwater import flow, tags, task
from headwater.events.memory import MemorySink
from headwater.runtime import flow_run as runtime_flow_run
from headwater.runtime import task_run as runtime_task_run
from headwater.states import Completed, Failed, State


def only_task_run_id(events: MemorySink) -> UUID:
    [created] = events.task_runs()
    return created.task_run_id


# -- where and how a task runs ---------------------------------------------------------------------
def test_a_task_called_in_a_flow_runs_in_the_callers_thread() -> None:
    @task
    def where() -> int:
        return threading.get_ident()

    @flow
    def outer() -> tuple[int, int]:
        return threading.get_ident(), where()

    flow_thread, task_thread = outer()
    assert task_thread == flow_thread == threading.get_ident()


def test_a_task_called_in_a_flow_returns_its_value() -> None:
    @task
    def add(x: int, y: int) -> int:
        return x + y

    @flow
    def outer() -> int:
        return add(1, 2) + add(3, y=4)

    assert outer() == 10


def test_a_task_run_has_a_uuid_and_belongs_to_its_flow_run(events: MemorySink) -> None:
    @task
    def add(x: int, y: int) -> int:
        return x + y

    @flow
    def outer() -> int:
        return add(1, 2)

    outer()
    [flow_created] = events.flow_runs()
    [task_created] = events.task_runs()
    assert isinstance(task_created.task_run_id, UUID)
    assert task_created.task_run_id != flow_created.flow_run_id
    assert task_created.flow_run_id == flow_created.flow_run_id
    assert task_created.task_name == "add"
    assert events.task_runs_of(flow_created.flow_run_id) == [task_created]


def test_a_task_run_in_a_flow_is_named_after_the_task_with_three_hex_characters(
    events: MemorySink,
) -> None:
    @task
    def add(x: int, y: int) -> int:
        return x + y

    @flow
    def outer() -> None:
        for i in range(5):
            add(i, i)

    outer()
    names = [created.name for created in events.task_runs()]
    assert len(names) == 5
    for name in names:
        assert re.fullmatch(r"add-[0-9a-f]{3}", name), name


def test_a_task_keeps_its_raw_function_name(events: MemorySink) -> None:
    @task
    def load_rows() -> None:
        pass

    @flow
    def outer() -> None:
        load_rows()

    outer()
    [created] = events.task_runs()
    assert created.task_name == "load_rows"
    assert re.fullmatch(r"load_rows-[0-9a-f]{3}", created.name)


def test_each_call_of_a_task_is_a_separate_run(events: MemorySink) -> None:
    @task
    def double(x: int) -> int:
        return x * 2

    @flow
    def outer() -> list[int]:
        return [double(1), double(2), double(3)]

    assert outer() == [2, 4, 6]
    created = events.task_runs()
    assert len({c.task_run_id for c in created}) == 3
    assert [c.parameters for c in created] == [{"x": 1}, {"x": 2}, {"x": 3}]


def test_a_task_run_records_its_parameters_with_defaults(events: MemorySink) -> None:
    @task
    def scale(x: int, factor: int = 10) -> int:
        return x * factor

    @flow
    def outer() -> int:
        return scale(2)

    assert outer() == 20
    [created] = events.task_runs()
    assert created.parameters == {"x": 2, "factor": 10}


def test_a_task_run_goes_pending_running_completed(events: MemorySink) -> None:
    @task
    def noop() -> None:
        pass

    @flow
    def outer() -> None:
        noop()

    outer()
    task_id = only_task_run_id(events)
    assert events.state_names(task_id) == ["Pending", "Running", "Completed"]
    final = events.final_state(task_id)
    assert final is not None
    assert final.state_details.task_run_id == task_id


def test_the_task_run_logs_finished_in_state_completed(events: MemorySink) -> None:
    @task
    def noop() -> None:
        pass

    @flow
    def outer() -> None:
        noop()

    outer()
    assert "Finished in state Completed()" in events.messages(only_task_run_id(events))


def test_the_running_task_sees_its_own_run_in_the_runtime(events: MemorySink) -> None:
    @task
    def introspect() -> dict[str, Any]:
        return {
            "id": runtime_task_run.id,
            "name": runtime_task_run.name,
            "task_name": runtime_task_run.task_name,
            "flow_run_id": runtime_flow_run.id,
            "parameters": runtime_task_run.parameters,
        }

    @flow
    def outer() -> dict[str, Any]:
        return introspect()

    seen = outer()
    [flow_created] = events.flow_runs()
    [task_created] = events.task_runs()
    assert seen == {
        "id": str(task_created.task_run_id),
        "name": task_created.name,
        "task_name": "introspect",
        "flow_run_id": str(flow_created.flow_run_id),
        "parameters": {},
    }


def test_tasks_are_called_with_their_arguments_unchanged() -> None:
    payload = object()

    @task
    def identity(x: Any) -> Any:
        return x

    @flow
    def outer() -> Any:
        return identity(payload)

    assert outer() is payload


# -- tags ------------------------------------------------------------------------------------------
def test_a_task_run_has_the_tasks_tags(events: MemorySink) -> None:
    @task(tags=["io", "db"])
    def load() -> None:
        pass

    @flow
    def outer() -> None:
        load()

    outer()
    [created] = events.task_runs()
    assert created.tags == {"io", "db"}


def test_task_run_tags_are_the_union_of_task_tags_and_tags_blocks(events: MemorySink) -> None:
    @task(tags=["io"])
    def load() -> None:
        pass

    @flow
    def outer() -> None:
        with tags("inner"):
            load()
        load()

    with tags("outer"):
        outer()
    first, second = events.task_runs()
    assert first.tags == {"io", "inner", "outer"}
    assert second.tags == {"io", "outer"}


def test_a_task_without_tags_takes_the_tags_of_the_block_around_it(events: MemorySink) -> None:
    @task
    def plain() -> list[str]:
        return list(runtime_task_run.tags)

    @flow
    def outer() -> list[str]:
        with tags("a", "b"):
            return plain()

    assert outer() == ["a", "b"]
    [created] = events.task_runs()
    assert created.tags == {"a", "b"}


# -- task_run_name ---------------------------------------------------------------------------------
def test_task_run_name_is_a_template_over_the_parameters(events: MemorySink) -> None:
    @task(task_run_name="add-{x}-and-{y}")
    def add(x: int, y: int = 5) -> int:
        return x + y

    @flow
    def outer() -> int:
        return add(1)

    assert outer() == 6
    [created] = events.task_runs()
    assert created.name == "add-1-and-5"
    assert events.run_name(created.task_run_id) == "add-1-and-5"


def test_a_task_run_name_template_can_index_into_a_parameter(events: MemorySink) -> None:
    @task(task_run_name="other {input[number]}")
    def other(input: dict[str, int]) -> int:
        return input["number"]

    @flow
    def outer() -> int:
        return other({"number": 4})

    assert outer() == 4
    assert events.task_runs()[0].name == "other 4"


def test_task_run_name_can_be_a_callable_without_arguments(events: MemorySink) -> None:
    def make_name() -> str:
        return f"{runtime_task_run.task_name}-custom"

    @task(task_run_name=make_name)
    def fetch() -> str:
        return str(runtime_task_run.name)

    @flow
    def outer() -> str:
        return fetch()

    assert outer() == "fetch-custom"
    assert events.task_runs()[0].name == "fetch-custom"


def test_a_task_run_name_callable_may_take_the_parameters(events: MemorySink) -> None:
    def make_name(parameters: dict[str, Any]) -> str:
        return f"fetch-{parameters['url']}-{parameters['retries']}"

    @task(task_run_name=make_name)
    def fetch(url: str, retries: int = 2) -> None:
        pass

    @flow
    def outer() -> None:
        fetch("example")

    outer()
    assert events.task_runs()[0].name == "fetch-example-2"


def test_a_task_run_name_callable_returning_a_non_string_is_a_type_error() -> None:
    # Prefect: TypeError("Callable ... for 'task_run_name' returned type int but a string is
    # required.")
    @task(task_run_name=lambda: 3)  # type: ignore[arg-type,return-value]
    def bad() -> None:
        pass

    with pytest.raises(TypeError, match="task_run_name"):
        bad()


def test_a_task_run_name_template_naming_an_unknown_parameter_is_a_clear_error() -> None:
    @task(task_run_name="run-{nope}")
    def bad(x: int) -> None:
        pass

    with pytest.raises(Exception) as excinfo:  # the message is checked below
        bad(1)
    assert "task_run_name" in str(excinfo.value)
    assert "nope" in str(excinfo.value)


# -- tasks outside flows ---------------------------------------------------------------------------
def test_a_task_called_outside_a_flow_runs_and_returns_its_value(events: MemorySink) -> None:
    @task
    def add(x: int, y: int) -> int:
        return x + y

    assert add(2, 3) == 5
    assert events.flow_runs() == []
    [created] = events.task_runs()
    assert created.flow_run_id is None
    assert created.name == "add"
    assert events.state_names(created.task_run_id) == ["Pending", "Running", "Completed"]


def test_a_task_outside_a_flow_runs_in_the_callers_thread() -> None:
    @task
    def where() -> int:
        return threading.get_ident()

    assert where() == threading.get_ident()


def test_a_failing_task_outside_a_flow_raises_its_own_exception(events: MemorySink) -> None:
    @task
    def explode() -> None:
        raise KeyError("nope")

    with pytest.raises(KeyError, match="nope"):
        explode()
    assert events.state_names(only_task_run_id(events)) == ["Pending", "Running", "Failed"]


def test_a_task_outside_a_flow_still_takes_its_template_name(events: MemorySink) -> None:
    @task(task_run_name="solo-{x}")
    def solo(x: int) -> int:
        return x

    assert solo(9) == 9
    assert events.task_runs()[0].name == "solo-9"


# -- failures --------------------------------------------------------------------------------------
def test_a_failing_task_raises_its_own_exception_in_the_flow(events: MemorySink) -> None:
    error = ValueError("task boom")

    @task
    def explode() -> None:
        raise error

    caught: list[BaseException] = []

    @flow
    def outer() -> None:
        try:
            explode()
        except ValueError as exc:
            caught.append(exc)

    outer()
    assert caught == [error]
    assert caught[0] is error


def test_a_failing_task_run_ends_failed_with_prefects_message(events: MemorySink) -> None:
    @task
    def explode() -> None:
        raise ValueError("x")

    @flow
    def outer() -> None:
        explode()

    with pytest.raises(ValueError, match=r"^x$"):
        outer()
    task_id = only_task_run_id(events)
    assert events.state_names(task_id) == ["Pending", "Running", "Failed"]
    final = events.final_state(task_id)
    assert final is not None
    assert str(final) == "Failed('Task run encountered an exception ValueError: x')"


def test_an_uncaught_task_failure_fails_the_flow_with_the_same_exception(
    events: MemorySink,
) -> None:
    @task
    def explode() -> None:
        raise ZeroDivisionError("divided")

    @flow
    def outer() -> None:
        explode()

    with pytest.raises(ZeroDivisionError):
        outer()
    [flow_created] = events.flow_runs()
    final = events.final_state(flow_created.flow_run_id)
    assert final is not None
    assert final.message == "Flow run encountered an exception: ZeroDivisionError: divided"


# -- tasks returning states ------------------------------------------------------------------------
def test_a_task_returning_a_failed_state_does_not_raise_in_the_caller(events: MemorySink) -> None:
    returned = Failed(message="manual fail", data="payload")

    @task
    def soft_fail() -> State:
        return returned

    got: list[Any] = []

    @flow
    def outer() -> int:
        got.append(soft_fail())
        return 1

    assert outer() == 1
    assert got == [returned]
    assert got[0] is returned


def test_the_final_state_of_a_task_returning_a_failed_state_is_that_state(
    events: MemorySink,
) -> None:
    returned = Failed(message="manual fail", data="payload")

    @task
    def soft_fail() -> State:
        return returned

    result = soft_fail()
    assert result is returned
    task_id = only_task_run_id(events)
    final = events.final_state(task_id)
    assert final is returned
    assert events.state_names(task_id) == ["Pending", "Running", "Failed"]
    assert str(final) == "Failed('manual fail')"


def test_a_task_returning_a_failed_state_logs_the_state_it_failed_with(
    events: MemorySink,
) -> None:
    @task
    def soft_fail() -> State:
        return Failed(message="manual fail", data="payload")

    soft_fail()
    messages = events.messages(only_task_run_id(events))
    assert (
        "Task run failed with state: Failed(message='manual fail', type=FAILED, "
        "result='payload')" in messages
    )


def test_a_task_returning_a_completed_state_hands_that_state_back(events: MemorySink) -> None:
    returned = Completed(message="all good", data=3)

    @task
    def explicit() -> State:
        return returned

    assert explicit() is returned
    assert events.final_state(only_task_run_id(events)) is returned


# -- return_state ----------------------------------------------------------------------------------
def test_return_state_gives_the_completed_state_of_a_task(events: MemorySink) -> None:
    @task
    def add(x: int, y: int) -> int:
        return x + y

    @flow
    def outer() -> State:
        return add(1, 2, return_state=True)  # type: ignore[no-any-return]

    state = outer()
    assert isinstance(state, State)
    assert state.is_completed()
    assert state.result() == 3
    assert state.state_details.task_run_id == only_task_run_id(events)


def test_return_state_gives_the_failed_state_of_a_task_without_raising() -> None:
    @task
    def explode() -> None:
        raise ValueError("boom")

    state = explode(return_state=True)
    assert state.is_failed()
    assert state.message == "Task run encountered an exception ValueError: boom"
    with pytest.raises(ValueError, match="boom"):
        state.result()


def test_return_state_is_not_passed_to_the_task_function() -> None:
    seen: list[dict[str, Any]] = []

    @task
    def capture(**kwargs: Any) -> None:
        seen.append(kwargs)

    capture(a=1, return_state=True)
    assert seen == [{"a": 1}]


# -- nested tasks ----------------------------------------------------------------------------------
def test_a_task_calling_another_task_works_inside_a_flow(events: MemorySink) -> None:
    @task
    def inner(x: int) -> int:
        return x + 1

    @task
    def outer_task(x: int) -> int:
        return inner(x) * 10

    @flow
    def outer() -> int:
        return outer_task(1)

    assert outer() == 20
    [flow_created] = events.flow_runs()
    outer_created, inner_created = events.task_runs()
    assert outer_created.task_name == "outer_task"
    assert inner_created.task_name == "inner"
    assert inner_created.flow_run_id == flow_created.flow_run_id
    for created in (outer_created, inner_created):
        assert events.state_names(created.task_run_id) == ["Pending", "Running", "Completed"]


def test_a_nested_task_failure_raises_through_the_outer_task(events: MemorySink) -> None:
    @task
    def inner() -> None:
        raise ValueError("deep")

    @task
    def outer_task() -> None:
        inner()

    with pytest.raises(ValueError, match="deep"):
        outer_task()
    outer_created, inner_created = events.task_runs()
    assert events.state_names(inner_created.task_run_id)[-1] == "Failed"
    assert events.state_names(outer_created.task_run_id)[-1] == "Failed"


def test_a_nested_task_sees_its_own_run_and_the_outer_task_is_restored_after(
    events: MemorySink,
) -> None:
    @task
    def inner() -> Any:
        return runtime_task_run.task_name

    @task
    def outer_task() -> tuple[Any, Any, Any]:
        before = runtime_task_run.task_name
        seen = inner()
        return before, seen, runtime_task_run.task_name

    assert outer_task() == ("outer_task", "inner", "outer_task")


def test_a_task_calling_another_task_works_outside_a_flow(events: MemorySink) -> None:
    @task
    def inner(x: int) -> int:
        return x * 3

    @task
    def outer_task(x: int) -> int:
        return inner(x) + 1

    assert outer_task(2) == 7
    assert [created.flow_run_id for created in events.task_runs()] == [None, None]


def test_an_engine_failure_outside_the_task_marks_the_run_crashed(
    events: MemorySink, tmp_path: Any, monkeypatch: Any
) -> None:
    # A result storage that breaks in an unexpected way breaks the engine, not the task: the
    # run is recorded Crashed (not left Pending) and the error reaches the caller.
    from headwater.cache_policies import INPUTS
    from headwater.results import ResultStorage

    class Broken(ResultStorage):
        def read_bytes(self, key: str) -> bytes | None:
            raise RuntimeError("storage backend exploded")

    @task(cache_policy=INPUTS, result_storage=Broken())
    def work(x: int) -> int:
        return x

    with pytest.raises(RuntimeError, match="exploded"):
        work(1)
    [run] = events.task_runs()
    assert events.state_names(run.task_run_id) == ["Pending", "Running", "Crashed"]
