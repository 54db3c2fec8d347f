"""Flow parameter validation with pydantic v2: coercion, errors, and when pydantic is imported.

Reference: Prefect 3 semantics digest §1.4 (flows only; tasks are never validated).
No `from __future__ import annotations` here: the flows below are defined inside test functions
and their hints must be real objects, as they are in most user code.
"""

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Optional

import pydantic
import pytest

from headwater import flow, task
from headwater.errors import ParameterTypeError
from headwater.events.memory import MemorySink
from headwater.runtime import flow_run as runtime_flow_run
from headwater.states import State

SRC = str(Path(__file__).resolve().parents[2] / "src")


class Point(pydantic.BaseModel):
    x: int
    y: int


class Token:
    """A plain class: pydantic accepts instances of it (arbitrary_types_allowed)."""

    def __init__(self, value: str) -> None:
        self.value = value


def only_flow_run_id(events: MemorySink) -> Any:
    [created] = events.flow_runs()
    return created.flow_run_id


# -- coercion --------------------------------------------------------------------------------------
def test_a_string_is_coerced_to_int_for_an_int_parameter() -> None:
    @flow
    def typed(x: int) -> Any:
        return x

    result = typed("5")  # type: ignore[arg-type]
    assert result == 5
    assert type(result) is int


def test_a_dict_is_coerced_to_a_pydantic_model() -> None:
    @flow
    def plot(point: Point) -> Any:
        return point

    result = plot({"x": 1, "y": "2"})  # type: ignore[arg-type]
    assert isinstance(result, Point)
    assert (result.x, result.y) == (1, 2)


def test_a_model_instance_passes_validation() -> None:
    @flow
    def plot(point: Point) -> Any:
        return point

    assert plot(Point(x=1, y=2)) == Point(x=1, y=2)


def test_a_list_of_strings_is_coerced_to_a_list_of_ints() -> None:
    @flow
    def total(values: list[int]) -> Any:
        return values

    assert total(["1", "2", 3]) == [1, 2, 3]  # type: ignore[list-item]


def test_an_iso_string_is_coerced_to_a_date() -> None:
    @flow
    def on(day: dt.date) -> Any:
        return day

    assert on("2024-01-01") == dt.date(2024, 1, 1)  # type: ignore[arg-type]


def test_optional_parameters_accept_none_and_coerce_values() -> None:
    @flow
    def maybe(x: Optional[int]) -> Any:  # noqa: UP045 (the typing spelling on purpose)
        return x

    assert maybe(None) is None
    assert maybe("3") == 3  # type: ignore[arg-type]


def test_a_union_with_none_written_with_a_pipe_is_validated() -> None:
    @flow
    def maybe(x: int | None) -> Any:
        return x

    assert maybe("4") == 4  # type: ignore[arg-type]


def test_instances_of_arbitrary_classes_are_accepted() -> None:
    token = Token("secret")

    @flow
    def use(token: Token) -> Any:
        return token

    assert use(token) is token


def test_unannotated_parameters_are_left_alone_next_to_annotated_ones() -> None:
    @flow
    def mixed(x: int, raw) -> Any:  # type: ignore[no-untyped-def]
        return x, raw

    assert mixed("1", "2") == (1, "2")  # type: ignore[arg-type]


def test_parameters_with_leading_underscores_are_validated() -> None:
    @flow
    def private(_x: int, __y: int) -> Any:
        return _x, __y

    assert private("5", "6") == (5, 6)  # type: ignore[arg-type]
    with pytest.raises(ParameterTypeError, match="_x"):
        private("five", 6)  # type: ignore[arg-type]


def test_positional_varargs_are_validated_item_by_item() -> None:
    @flow
    def collect(*args: int) -> Any:
        return args

    assert collect("1", "2") == (1, 2)  # type: ignore[arg-type]


def test_keyword_varargs_are_validated_value_by_value() -> None:
    @flow
    def collect(**kwargs: int) -> Any:
        return kwargs

    assert collect(a="1", b=2) == {"a": 1, "b": 2}  # type: ignore[arg-type]


def test_a_bad_vararg_item_raises_parameter_type_error() -> None:
    @flow
    def collect(*args: int) -> Any:
        return args

    with pytest.raises(ParameterTypeError, match="args"):
        collect("1", "two")  # type: ignore[arg-type]


# -- defaults --------------------------------------------------------------------------------------
def test_defaults_are_not_validated() -> None:
    @flow
    def loose(x: int = None) -> Any:  # type: ignore[assignment]  # noqa: RUF013
        return x

    assert loose() is None


def test_an_annotated_parameter_left_at_its_default_does_not_block_validating_the_others() -> None:
    @flow
    def add(a: int, b: int = 2) -> Any:
        return a + b

    assert add("1") == 3  # type: ignore[arg-type]


def test_a_default_left_out_of_the_call_keeps_its_value() -> None:
    @flow
    def greet(name: str, greeting: str = "hello") -> Any:
        return f"{greeting} {name}"

    assert greet("ada") == "hello ada"


def test_a_value_passed_for_a_defaulted_parameter_is_validated() -> None:
    @flow
    def add(a: int, b: int = 2) -> Any:
        return a + b

    assert add(1, "5") == 6  # type: ignore[arg-type]
    with pytest.raises(ParameterTypeError, match="b"):
        add(1, "five")  # type: ignore[arg-type]


# -- what the run and the body see -----------------------------------------------------------------
def test_the_runtime_parameters_show_the_coerced_values() -> None:
    @flow
    def typed(x: int, items: list[int]) -> Any:
        return runtime_flow_run.parameters

    assert typed("5", ["1"]) == {"x": 5, "items": [1]}  # type: ignore[arg-type]


def test_the_recorded_parameters_are_the_coerced_values(events: MemorySink) -> None:
    @flow
    def typed(x: int) -> None:
        pass

    typed("5")  # type: ignore[arg-type]
    [created] = events.flow_runs()
    assert created.parameters == {"x": 5}


def test_tasks_are_never_validated() -> None:
    @task
    def untouched(x: int) -> Any:
        return x

    @flow
    def outer() -> Any:
        return untouched("5")  # type: ignore[arg-type]

    assert outer() == "5"
    assert untouched("5") == "5"  # type: ignore[arg-type]


def test_validate_parameters_false_passes_values_through_untouched(events: MemorySink) -> None:
    @flow(validate_parameters=False)
    def typed(x: int) -> Any:
        return x

    assert typed("5") == "5"  # type: ignore[arg-type]
    assert typed("not a number") == "not a number"  # type: ignore[arg-type]
    for created in events.flow_runs():
        assert events.state_names(created.flow_run_id)[-1] == "Completed"


def test_with_options_can_turn_validation_off() -> None:
    @flow
    def typed(x: int) -> Any:
        return x

    assert typed.with_options(validate_parameters=False)("5") == "5"
    assert typed("5") == 5  # type: ignore[arg-type]


# -- bad values ------------------------------------------------------------------------------------
def test_a_bad_value_raises_parameter_type_error_which_is_a_type_error() -> None:
    @flow
    def typed(x: int) -> None:
        pass

    with pytest.raises(ParameterTypeError) as excinfo:
        typed("not a number")  # type: ignore[arg-type]
    assert isinstance(excinfo.value, TypeError)


def test_the_error_names_the_parameter_the_expected_type_and_the_value() -> None:
    @flow
    def typed(count: int) -> None:
        pass

    with pytest.raises(ParameterTypeError) as excinfo:
        typed("not a number")  # type: ignore[arg-type]
    message = str(excinfo.value)
    assert message.startswith("Flow run received invalid parameters:")
    assert "count" in message
    assert "int" in message
    assert "'not a number'" in message
    [error] = excinfo.value.errors
    assert error["parameter"] == "count"
    assert error["expected"] == "int"
    assert error["value"] == "not a number"


def test_every_bad_parameter_is_listed() -> None:
    @flow
    def typed(a: int, b: float, ok: str) -> None:
        pass

    with pytest.raises(ParameterTypeError) as excinfo:
        typed("x", "y", "fine")  # type: ignore[arg-type]
    assert sorted(e["parameter"] for e in excinfo.value.errors) == ["a", "b"]
    message = str(excinfo.value)
    assert " - a: " in message
    assert " - b: " in message


def test_a_bad_field_inside_a_model_names_its_path() -> None:
    @flow
    def plot(point: Point) -> None:
        pass

    with pytest.raises(ParameterTypeError) as excinfo:
        plot({"x": 1, "y": "up"})  # type: ignore[arg-type]
    assert "point.y" in str(excinfo.value)
    assert "'up'" in str(excinfo.value)


def test_a_bad_value_fails_before_any_task_runs(events: MemorySink) -> None:
    calls: list[int] = []

    @task
    def record(x: int) -> None:
        calls.append(x)

    @flow
    def typed(x: int) -> None:
        record(x)

    with pytest.raises(ParameterTypeError):
        typed("nope")  # type: ignore[arg-type]
    assert calls == []
    assert events.task_runs() == []


def test_a_flow_run_with_bad_parameters_is_recorded_failed_without_ever_running(
    events: MemorySink,
) -> None:
    body_ran: list[bool] = []

    @flow
    def typed(x: int) -> None:
        body_ran.append(True)

    with pytest.raises(ParameterTypeError):
        typed("nope")  # type: ignore[arg-type]
    run_id = only_flow_run_id(events)
    assert events.state_names(run_id) == ["Pending", "Failed"]
    final = events.final_state(run_id)
    assert final is not None
    assert final.message is not None
    assert final.message.startswith(
        "Validation of flow parameters failed with error: ParameterTypeError: "
        "Flow run received invalid parameters:"
    )
    assert body_ran == []


def test_return_state_gives_the_failed_state_of_a_validation_error(events: MemorySink) -> None:
    @flow
    def typed(x: int) -> None:
        pass

    state = typed("nope", return_state=True)  # type: ignore[arg-type]
    assert isinstance(state, State)
    assert state.is_failed()
    assert state is events.final_state(only_flow_run_id(events))
    with pytest.raises(ParameterTypeError):
        state.result()


def test_on_failure_hooks_run_when_parameters_are_bad() -> None:
    failures: list[str] = []

    def on_failure(flow_obj: Any, flow_run: Any, state: State) -> None:
        failures.append(state.name)

    @flow(on_failure=[on_failure])
    def typed(x: int) -> None:
        pass

    with pytest.raises(ParameterTypeError):
        typed("nope")  # type: ignore[arg-type]
    assert failures == ["Failed"]


def test_a_subflow_with_bad_parameters_raises_in_the_parent(events: MemorySink) -> None:
    @flow
    def child(x: int) -> None:
        pass

    @flow
    def parent() -> None:
        child("nope")  # type: ignore[arg-type]

    with pytest.raises(ParameterTypeError):
        parent()
    parent_created, child_created = events.flow_runs()
    assert child_created.parent_flow_run_id == parent_created.flow_run_id
    assert events.state_names(child_created.flow_run_id) == ["Pending", "Failed"]
    assert events.state_names(parent_created.flow_run_id)[-1] == "Failed"


def test_a_parent_continues_past_a_subflow_with_bad_parameters_using_return_state() -> None:
    @flow
    def child(x: int) -> int:
        return x

    @flow
    def parent() -> tuple[State, State]:
        return child("nope", return_state=True), child("1", return_state=True)  # type: ignore[arg-type]

    state = parent(return_state=True)
    assert state.is_failed()
    assert state.message == "1/2 states failed."


# -- pydantic is imported only when a flow validates -----------------------------------------------
def _modules_after(script: str, tmp_path: Path) -> dict[str, Any]:
    """Run `script` in a fresh interpreter; it must print a JSON object as its last line."""
    path = tmp_path / "probe.py"
    path.write_text(textwrap.dedent(script))
    done = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": SRC},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_flow_without_annotations_does_not_import_pydantic(tmp_path: Path) -> None:
    seen = _modules_after(
        """
        import json, sys
        from headwater import flow, task

        @task
        def add(x, y):
            return x + y

        @flow
        def plain(a, b=2):
            return add(a, b)

        result = plain(1)
        print(json.dumps({"result": result, "pydantic": "pydantic" in sys.modules}))
        """,
        tmp_path,
    )
    assert seen == {"result": 3, "pydantic": False}


def test_a_flow_with_validation_turned_off_does_not_import_pydantic(tmp_path: Path) -> None:
    seen = _modules_after(
        """
        import json, sys
        from headwater import flow

        @flow(validate_parameters=False)
        def typed(a: int) -> int:
            return a

        result = typed("5")
        print(json.dumps({"result": result, "pydantic": "pydantic" in sys.modules}))
        """,
        tmp_path,
    )
    assert seen == {"result": "5", "pydantic": False}


def test_a_flow_that_validates_imports_pydantic_when_called(tmp_path: Path) -> None:
    seen = _modules_after(
        """
        import json, sys
        from headwater import flow

        @flow
        def typed(a: int) -> int:
            return a

        before = "pydantic" in sys.modules
        result = typed("5")
        print(json.dumps({"before": before, "result": result, "after": "pydantic" in sys.modules}))
        """,
        tmp_path,
    )
    assert seen == {"before": False, "result": 5, "after": True}
