"""`headwater.runtime.flow_run` / `task_run`, `tags(...)` and `get_run_context()`."""

from __future__ import annotations

from typing import Any

import pytest

from headwater import flow, get_run_context, tags, task
from headwater.core.context import FlowRunContext, TaskRunContext
from headwater.errors import MissingContextError
from headwater.events.memory import MemorySink
from headwater.runtime import flow_run, task_run

FLOW_RUN_FIELDS = (
    "id",
    "name",
    "flow_name",
    "parameters",
    "tags",
    "parent_flow_run_id",
    "run_count",
)
TASK_RUN_FIELDS = ("id", "name", "task_name", "tags", "parameters", "run_count")


def snapshot(module: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(module, name) for name in fields}


# -- headwater.runtime.flow_run ---------------------------------------------------------------


def test_flow_run_fields_describe_the_current_flow_run(events: MemorySink) -> None:
    seen: dict[str, Any] = {}

    @flow(flow_run_name="etl-{day}")
    def etl(day: str, limit: int = 3) -> None:
        seen.update(snapshot(flow_run, FLOW_RUN_FIELDS))

    with tags("nightly"):
        etl("monday", limit=5)

    [created] = events.flow_runs()
    assert seen == {
        "id": str(created.flow_run_id),
        "name": "etl-monday",
        "flow_name": "etl",
        "parameters": {"day": "monday", "limit": 5},
        "tags": ["nightly"],
        "parent_flow_run_id": None,
        "run_count": 1,
    }


def test_flow_run_parameters_are_the_validated_values(events: MemorySink) -> None:
    seen: dict[str, Any] = {}

    @flow
    def typed(n: int) -> None:
        seen["parameters"] = flow_run.parameters

    typed("5")  # type: ignore[arg-type]

    assert seen["parameters"] == {"n": 5}


def test_flow_run_parameters_include_the_defaults_of_annotated_parameters(
    events: MemorySink,
) -> None:
    seen: dict[str, Any] = {}

    @flow
    def etl(day: str, limit: int = 3) -> None:
        seen["parameters"] = flow_run.parameters

    etl("monday")

    assert seen["parameters"] == {"day": "monday", "limit": 3}


def test_flow_run_in_a_subflow_names_its_parent(events: MemorySink) -> None:
    seen: dict[str, Any] = {}

    @flow
    def child(x: int) -> None:
        seen["child"] = snapshot(flow_run, FLOW_RUN_FIELDS)

    @flow
    def parent() -> None:
        seen["parent_id"] = flow_run.id
        child(7)
        seen["parent_after"] = flow_run.id

    parent()

    parent_run, child_run = events.flow_runs()
    assert seen["parent_id"] == seen["parent_after"] == str(parent_run.flow_run_id)
    assert seen["child"] == {
        "id": str(child_run.flow_run_id),
        "name": child_run.name,
        "flow_name": "child",
        "parameters": {"x": 7},
        "tags": [],
        "parent_flow_run_id": str(parent_run.flow_run_id),
        "run_count": 1,
    }


def test_flow_run_inside_a_task_describes_the_enclosing_flow_run(events: MemorySink) -> None:
    seen: dict[str, Any] = {}

    @task
    def inner() -> None:
        seen.update(snapshot(flow_run, ("id", "name", "flow_name", "parameters")))

    @flow
    def outer(a: int = 1) -> None:
        inner()

    outer()

    [created] = events.flow_runs()
    assert seen == {
        "id": str(created.flow_run_id),
        "name": created.name,
        "flow_name": "outer",
        "parameters": {"a": 1},
    }


def test_flow_run_run_count_counts_flow_retries(events: MemorySink) -> None:
    counts: list[int] = []

    @flow(retries=2)
    def flaky() -> str:
        counts.append(flow_run.run_count)
        if len(counts) < 3:
            raise ValueError("not yet")
        return "done"

    assert flaky() == "done"
    assert counts == [1, 2, 3]


def test_flow_run_fields_outside_any_run_are_empty() -> None:
    assert snapshot(flow_run, FLOW_RUN_FIELDS) == {
        "id": None,
        "name": None,
        "flow_name": None,
        "parameters": {},
        "tags": [],
        "parent_flow_run_id": None,
        "run_count": 0,
    }


def test_flow_run_fields_are_empty_again_after_a_flow_run_ends() -> None:
    @flow
    def done() -> None:
        pass

    done()

    assert flow_run.id is None
    assert flow_run.name is None


def test_flow_run_id_in_a_task_outside_a_flow_is_none() -> None:
    seen: dict[str, Any] = {}

    @task
    def alone() -> None:
        seen["id"] = flow_run.id
        seen["name"] = flow_run.name

    alone()

    assert seen == {"id": None, "name": None}


def test_flow_run_name_can_be_overridden_with_an_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEADWATER__RUNTIME__FLOW_RUN__NAME", "mocked-name")
    seen: dict[str, Any] = {}

    @flow
    def named() -> None:
        seen["name"] = flow_run.name

    named()

    assert seen["name"] == "mocked-name"
    assert flow_run.name == "mocked-name"  # outside a run too


def test_a_runtime_override_is_cast_to_the_type_of_the_real_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEADWATER__RUNTIME__FLOW_RUN__RUN_COUNT", "4")
    monkeypatch.setenv("HEADWATER__RUNTIME__TASK_RUN__RUN_COUNT", "9")

    assert flow_run.run_count == 4
    assert task_run.run_count == 9


def test_a_runtime_field_that_is_not_a_scalar_cannot_be_overridden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEADWATER__RUNTIME__FLOW_RUN__PARAMETERS", "{}")

    with pytest.raises(ValueError, match="monkeypatch"):
        _ = flow_run.parameters


def test_an_unknown_runtime_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'colour'"):
        _ = flow_run.colour
    with pytest.raises(AttributeError, match="no attribute 'colour'"):
        _ = task_run.colour


def test_an_unknown_runtime_attribute_set_in_the_environment_returns_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEADWATER__RUNTIME__FLOW_RUN__COLOUR", "blue")

    assert flow_run.colour == "blue"


def test_dir_of_the_runtime_modules_lists_their_fields() -> None:
    assert set(FLOW_RUN_FIELDS) <= set(dir(flow_run))
    assert set(TASK_RUN_FIELDS) <= set(dir(task_run))


def test_runtime_is_reachable_as_an_attribute_of_the_package() -> None:
    import headwater

    assert headwater.runtime.flow_run is flow_run
    assert headwater.runtime.task_run is task_run


# -- headwater.runtime.task_run ---------------------------------------------------------------


def test_task_run_fields_describe_the_current_task_run(events: MemorySink) -> None:
    seen: dict[str, Any] = {}

    @task(tags=["io"], task_run_name="load-{path}")
    def load(path: str, retries_seen: int = 0) -> None:
        seen.update(snapshot(task_run, TASK_RUN_FIELDS))
        seen["flow_run_id"] = task_run.flow_run_id

    @flow
    def pipeline() -> None:
        load("a.csv")

    pipeline()

    [flow_created] = events.flow_runs()
    [created] = events.task_runs()
    assert seen == {
        "id": str(created.task_run_id),
        "name": "load-a.csv",
        "task_name": "load",
        "tags": ["io"],
        "parameters": {"path": "a.csv", "retries_seen": 0},
        "run_count": 1,
        "flow_run_id": str(flow_created.flow_run_id),
    }


def test_task_run_fields_in_a_task_outside_a_flow(events: MemorySink) -> None:
    seen: dict[str, Any] = {}

    @task
    def solo(x: int) -> None:
        seen.update(snapshot(task_run, TASK_RUN_FIELDS))

    solo(2)

    [created] = events.task_runs()
    assert seen["id"] == str(created.task_run_id)
    assert seen["task_name"] == "solo"
    assert seen["parameters"] == {"x": 2}
    assert seen["run_count"] == 1


def test_task_run_run_count_counts_task_retries(events: MemorySink) -> None:
    counts: list[int] = []

    @task(retries=2)
    def flaky() -> None:
        counts.append(task_run.run_count)
        if len(counts) < 3:
            raise ValueError("again")

    @flow
    def pipeline() -> None:
        flaky()

    pipeline()

    assert counts == [1, 2, 3]


def test_task_run_fields_are_empty_in_a_flow_outside_any_task() -> None:
    seen: dict[str, Any] = {}

    @flow
    def no_tasks() -> None:
        seen.update(snapshot(task_run, TASK_RUN_FIELDS))

    no_tasks()

    assert seen == {
        "id": None,
        "name": None,
        "task_name": None,
        "tags": [],
        "parameters": {},
        "run_count": 0,
    }


def test_task_run_fields_outside_any_run_are_empty() -> None:
    assert snapshot(task_run, TASK_RUN_FIELDS) == {
        "id": None,
        "name": None,
        "task_name": None,
        "tags": [],
        "parameters": {},
        "run_count": 0,
    }


def test_task_run_fields_in_a_subflow_called_from_a_task_are_empty() -> None:
    # Code in a subflow belongs to the subflow, not to the task that called it.
    seen: dict[str, Any] = {}

    @flow
    def sub() -> None:
        seen["task_run_id"] = task_run.id

    @task
    def caller() -> None:
        sub()

    @flow
    def top() -> None:
        caller()

    top()

    assert seen == {"task_run_id": None}


# -- tags -------------------------------------------------------------------------------------


def test_tags_apply_to_flow_runs_and_task_runs_created_inside_the_block(
    events: MemorySink,
) -> None:
    @task(tags=["own"])
    def tagged_task() -> None:
        pass

    @flow
    def tagged_flow() -> None:
        tagged_task()

    with tags("a", "b"):
        tagged_flow()

    [flow_created] = events.flow_runs()
    [task_created] = events.task_runs()
    assert flow_created.tags == {"a", "b"}
    assert task_created.tags == {"a", "b", "own"}


def test_tags_blocks_nest_as_a_union(events: MemorySink) -> None:
    @flow
    def tagged_flow() -> None:
        pass

    with tags("a", "b") as outer:
        with tags("b", "c") as inner:
            tagged_flow()
        tagged_flow()

    first, second = events.flow_runs()
    assert outer == {"a", "b"}
    assert inner == {"a", "b", "c"}
    assert first.tags == {"a", "b", "c"}
    assert second.tags == {"a", "b"}


def test_tags_inside_a_flow_apply_to_the_tasks_and_subflows_created_in_the_block(
    events: MemorySink,
) -> None:
    @task
    def step() -> None:
        pass

    @flow
    def sub() -> None:
        pass

    @flow
    def top() -> None:
        with tags("inner"):
            step()
            sub()
        step()

    top()

    top_run, sub_run = events.flow_runs()
    tagged_step, plain_step = events.task_runs()
    assert top_run.tags == frozenset()
    assert sub_run.tags == {"inner"}
    assert tagged_step.tags == {"inner"}
    assert plain_step.tags == frozenset()


def test_tags_are_gone_after_the_block(events: MemorySink) -> None:
    @flow
    def tagged_flow() -> None:
        pass

    with tags("temporary"):
        pass
    tagged_flow()

    [created] = events.flow_runs()
    assert created.tags == frozenset()


def test_tags_are_gone_after_a_block_that_raised(events: MemorySink) -> None:
    @flow
    def tagged_flow() -> None:
        pass

    with pytest.raises(KeyError), tags("temporary"):
        raise KeyError("boom")
    tagged_flow()

    [created] = events.flow_runs()
    assert created.tags == frozenset()


def test_tags_must_be_strings() -> None:
    with pytest.raises(TypeError, match="Tags must be strings"), tags("ok", 3):  # type: ignore[arg-type]
        pass


# -- get_run_context --------------------------------------------------------------------------


def test_get_run_context_in_a_flow_is_the_flow_run_context(events: MemorySink) -> None:
    seen: dict[str, Any] = {}

    @flow
    def f(x: int) -> None:
        seen["ctx"] = get_run_context()

    f(1)

    ctx = seen["ctx"]
    [created] = events.flow_runs()
    assert isinstance(ctx, FlowRunContext)
    assert ctx.flow_run.id == created.flow_run_id
    assert ctx.flow is f
    assert ctx.parameters == {"x": 1}


def test_get_run_context_in_a_task_is_the_task_run_context(events: MemorySink) -> None:
    seen: dict[str, Any] = {}

    @task
    def t(y: int) -> None:
        seen["ctx"] = get_run_context()

    @flow
    def f() -> None:
        t(2)

    f()

    ctx = seen["ctx"]
    [created] = events.task_runs()
    assert isinstance(ctx, TaskRunContext)
    assert ctx.task_run.id == created.task_run_id
    assert ctx.task is t
    assert ctx.parameters == {"y": 2}
    assert ctx.task_run.run_count == 1


def test_get_run_context_in_a_subflow_called_from_a_task_is_the_subflow_context(
    events: MemorySink,
) -> None:
    seen: dict[str, Any] = {}

    @flow
    def sub() -> None:
        seen["ctx"] = get_run_context()

    @task
    def caller() -> None:
        sub()

    @flow
    def top() -> None:
        caller()

    top()

    top_run, sub_run = events.flow_runs()
    ctx = seen["ctx"]
    assert isinstance(ctx, FlowRunContext)
    assert ctx.flow_run.id == sub_run.flow_run_id
    assert sub_run.parent_flow_run_id == top_run.flow_run_id
    assert sub_run.parent_task_run_id == events.task_runs()[0].task_run_id


def test_get_run_context_outside_a_run_raises_missing_context_error() -> None:
    with pytest.raises(MissingContextError, match="not running inside a flow or task run"):
        get_run_context()


def test_get_run_context_after_a_flow_ends_raises_again() -> None:
    @flow
    def f() -> None:
        get_run_context()

    f()

    with pytest.raises(MissingContextError):
        get_run_context()


def test_runtime_fields_are_prefects_and_root_flow_run_id_is_the_top_level_run() -> None:
    from headwater.runtime import flow_run as runtime_flow_run
    from headwater.runtime import task_run as runtime_task_run

    assert sorted(runtime_flow_run.FIELDS) == sorted(dir(runtime_flow_run)) == [
        "api_url", "flow_name", "flow_version", "id", "job_variables", "name", "parameters",
        "parent_deployment_id", "parent_flow_run_id", "root_flow_run_id", "run_count",
        "scheduled_start_time", "tags", "ui_url"]
    assert sorted(runtime_task_run.FIELDS) == [
        "api_url", "id", "name", "parameters", "run_count", "tags", "task_name", "ui_url"]
    assert runtime_flow_run.root_flow_run_id is None
    assert runtime_flow_run.job_variables is None
    seen: dict[str, Any] = {}

    @task
    def leaf() -> None:
        seen["task"] = runtime_flow_run.root_flow_run_id

    @flow
    def inner() -> None:
        seen["inner"] = runtime_flow_run.root_flow_run_id
        leaf()

    @flow
    def outer() -> None:
        seen["outer"] = runtime_flow_run.id
        seen["jobs"] = runtime_flow_run.job_variables
        inner()

    outer()
    assert seen["inner"] == seen["task"] == seen["outer"]
    assert seen["jobs"] == {}


def test_prefect_runtime_overrides_are_read_and_cast(monkeypatch: pytest.MonkeyPatch) -> None:
    from headwater.runtime import flow_run as runtime_flow_run

    monkeypatch.setenv("PREFECT__RUNTIME__FLOW_RUN__RUN_COUNT", "7")
    monkeypatch.setenv("HEADWATER__RUNTIME__FLOW_RUN__NAME", "mine")
    assert runtime_flow_run.run_count == 7
    assert runtime_flow_run.name == "mine"
