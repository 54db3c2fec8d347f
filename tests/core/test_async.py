"""Async flows and tasks: awaited on a running loop, or run to completion from a sync flow.

Reference: Prefect 3 semantics digest §3.1 and §3.2 (`run_flow_async`, `run_task_async`).
No pytest-asyncio: each test drives its own loop with `asyncio.run`, as user scripts do.
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import pytest

from headwater import flow, task
from headwater.events.memory import MemorySink
from headwater.runtime import flow_run as runtime_flow_run
from headwater.states import State


# -- async flows -----------------------------------------------------------------------------------
def test_an_async_flow_is_awaited_inside_a_running_loop() -> None:
    @flow
    async def greet(name: str) -> str:
        await asyncio.sleep(0)
        return f"hello {name}"

    assert asyncio.run(greet("ada")) == "hello ada"


def test_an_async_flow_body_runs_on_the_callers_event_loop() -> None:
    @flow
    async def which_loop() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    async def main() -> tuple[Any, Any]:
        return asyncio.get_running_loop(), await which_loop()

    outer_loop, flow_loop = asyncio.run(main())
    assert flow_loop is outer_loop


def test_an_async_flow_records_pending_running_completed(events: MemorySink) -> None:
    @flow
    async def work() -> int:
        return 1

    assert asyncio.run(work()) == 1
    [created] = events.flow_runs()
    assert created.flow_name == "work"
    assert events.state_names(created.flow_run_id) == ["Pending", "Running", "Completed"]
    final = events.final_state(created.flow_run_id)
    assert final is not None
    assert final.result() == 1


def test_an_async_flow_exception_propagates_and_the_run_ends_failed(events: MemorySink) -> None:
    @flow
    async def explode() -> None:
        raise ValueError("async boom")

    with pytest.raises(ValueError, match="async boom"):
        asyncio.run(explode())
    [created] = events.flow_runs()
    assert events.state_names(created.flow_run_id) == ["Pending", "Running", "Failed"]
    final = events.final_state(created.flow_run_id)
    assert final is not None
    assert final.message == "Flow run encountered an exception: ValueError: async boom"


def test_return_state_works_with_an_async_flow() -> None:
    @flow
    async def work() -> int:
        return 5

    state = asyncio.run(work(return_state=True))
    assert isinstance(state, State)
    assert state.is_completed()
    assert state.result() == 5


def test_return_state_gives_the_failed_state_of_an_async_flow_without_raising() -> None:
    @flow
    async def explode() -> None:
        raise ValueError("async boom")

    state = asyncio.run(explode(return_state=True))
    assert state.is_failed()
    with pytest.raises(ValueError, match="async boom"):
        state.result()


def test_an_async_flow_validates_its_parameters() -> None:
    @flow
    async def typed(x: int) -> Any:
        return x

    assert asyncio.run(typed("5")) == 5  # type: ignore[arg-type]


def test_an_async_flow_gets_a_generated_run_name(events: MemorySink) -> None:
    @flow
    async def work() -> Any:
        return runtime_flow_run.name

    name = asyncio.run(work())
    [created] = events.flow_runs()
    assert name == created.name
    assert re.fullmatch(r"[a-z]+-[a-z]+", created.name)


# -- async flows called from sync flows ------------------------------------------------------------
def test_a_sync_flow_returning_an_async_subflows_coroutine_returns_its_value(
    events: MemorySink,
) -> None:
    @flow
    async def child(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    @flow
    def parent() -> int:
        return child(21)  # type: ignore[return-value]  # a coroutine the engine awaits

    assert parent() == 42
    parent_created, child_created = events.flow_runs()
    assert child_created.parent_flow_run_id == parent_created.flow_run_id
    assert events.state_names(child_created.flow_run_id) == ["Pending", "Running", "Completed"]


def test_an_async_subflow_failure_raises_in_the_sync_parent(events: MemorySink) -> None:
    @flow
    async def child() -> None:
        raise KeyError("async child")

    @flow
    def parent() -> None:
        asyncio.run(child())  # as in Prefect, calling an async flow gives a coroutine

    with pytest.raises(KeyError, match="async child"):
        parent()
    parent_created, _ = events.flow_runs()
    assert events.state_names(parent_created.flow_run_id)[-1] == "Failed"


# -- tasks inside async flows ----------------------------------------------------------------------
def test_a_sync_task_in_an_async_flow_runs_in_the_flows_thread(events: MemorySink) -> None:
    @task
    def add(x: int, y: int) -> tuple[int, int]:
        return x + y, threading.get_ident()

    @flow
    async def outer() -> tuple[tuple[int, int], int]:
        return add(1, 2), threading.get_ident()

    (total, task_thread), flow_thread = asyncio.run(outer())
    assert total == 3
    assert task_thread == flow_thread
    [flow_created] = events.flow_runs()
    [task_created] = events.task_runs()
    assert task_created.flow_run_id == flow_created.flow_run_id
    assert events.state_names(task_created.task_run_id) == ["Pending", "Running", "Completed"]


def test_an_async_task_in_an_async_flow_is_awaited(events: MemorySink) -> None:
    @task
    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        return x * 10

    @flow
    async def outer() -> int:
        return await fetch(4)

    assert asyncio.run(outer()) == 40
    [flow_created] = events.flow_runs()
    [task_created] = events.task_runs()
    assert task_created.flow_run_id == flow_created.flow_run_id
    assert re.fullmatch(r"fetch-[0-9a-f]{3}", task_created.name)
    assert events.state_names(task_created.task_run_id) == ["Pending", "Running", "Completed"]


def test_calling_an_async_task_in_an_async_flow_gives_a_coroutine() -> None:
    @task
    async def fetch() -> int:
        return 1

    @flow
    async def outer() -> tuple[bool, int]:
        pending = fetch()
        is_coro = asyncio.iscoroutine(pending)
        return is_coro, await pending

    assert asyncio.run(outer()) == (True, 1)


def test_async_tasks_can_run_concurrently_with_gather(events: MemorySink) -> None:
    @task
    async def fetch(x: int) -> int:
        await asyncio.sleep(0.01)
        return x

    @flow
    async def outer() -> list[int]:
        return list(await asyncio.gather(fetch(1), fetch(2), fetch(3)))

    assert asyncio.run(outer()) == [1, 2, 3]
    task_runs = events.task_runs()
    assert len(task_runs) == 3
    assert sorted(c.parameters["x"] for c in task_runs) == [1, 2, 3]
    for created in task_runs:
        assert events.state_names(created.task_run_id)[-1] == "Completed"


def test_an_async_task_exception_propagates_with_its_type(events: MemorySink) -> None:
    @task
    async def explode() -> None:
        raise ValueError("async task boom")

    @flow
    async def outer() -> None:
        await explode()

    with pytest.raises(ValueError, match="async task boom"):
        asyncio.run(outer())
    [flow_created] = events.flow_runs()
    [task_created] = events.task_runs()
    task_final = events.final_state(task_created.task_run_id)
    assert task_final is not None
    assert task_final.message == "Task run encountered an exception ValueError: async task boom"
    flow_final = events.final_state(flow_created.flow_run_id)
    assert flow_final is not None
    assert flow_final.message == "Flow run encountered an exception: ValueError: async task boom"


def test_an_async_flow_can_catch_an_async_task_failure_and_complete(events: MemorySink) -> None:
    @task
    async def explode() -> None:
        raise ValueError("async task boom")

    @flow
    async def outer() -> str:
        try:
            await explode()
        except ValueError:
            return "caught"
        return "unreachable"

    assert asyncio.run(outer()) == "caught"
    [flow_created] = events.flow_runs()
    assert events.state_names(flow_created.flow_run_id)[-1] == "Completed"


def test_return_state_works_with_an_async_task() -> None:
    @task
    async def explode() -> None:
        raise ValueError("boom")

    @task
    async def fine() -> int:
        return 2

    @flow
    async def outer() -> dict[str, State]:
        return {"ok": await fine(return_state=True), "bad": await explode(return_state=True)}

    states = asyncio.run(outer())
    assert states["ok"].is_completed()
    assert states["ok"].result() == 2
    assert states["bad"].is_failed()
    with pytest.raises(ValueError, match="boom"):
        states["bad"].result()


def test_an_async_flow_returning_async_task_states_follows_the_aggregate_rule() -> None:
    @task
    async def explode() -> None:
        raise ValueError("boom")

    @task
    async def fine() -> int:
        return 2

    @flow
    async def outer() -> tuple[State, State]:
        return await fine(return_state=True), await explode(return_state=True)

    state = asyncio.run(outer(return_state=True))
    assert state.is_failed()
    assert state.message == "1/2 states failed."


def test_an_async_task_outside_a_flow_is_awaited_and_recorded(events: MemorySink) -> None:
    @task
    async def fetch(x: int) -> int:
        return x + 1

    assert asyncio.run(fetch(1)) == 2
    [created] = events.task_runs()
    assert created.flow_run_id is None
    assert created.name == "fetch"


# -- async subflows --------------------------------------------------------------------------------
def test_an_async_subflow_in_an_async_flow_is_linked_to_its_parent(events: MemorySink) -> None:
    @flow
    async def child(x: int) -> int:
        return x + 1

    @flow
    async def parent() -> int:
        return await child(1)

    assert asyncio.run(parent()) == 2
    parent_created, child_created = events.flow_runs()
    assert child_created.parent_flow_run_id == parent_created.flow_run_id
    assert events.state_names(child_created.flow_run_id) == ["Pending", "Running", "Completed"]
    assert any(
        m.startswith("Beginning subflow run") for m in events.messages(child_created.flow_run_id)
    )


def test_a_sync_subflow_in_an_async_flow_runs_and_is_linked(events: MemorySink) -> None:
    @flow
    def child() -> str:
        return "sync child"

    @flow
    async def parent() -> str:
        return child()

    assert asyncio.run(parent()) == "sync child"
    parent_created, child_created = events.flow_runs()
    assert child_created.parent_flow_run_id == parent_created.flow_run_id


def test_a_failing_async_subflow_raises_in_the_async_parent(events: MemorySink) -> None:
    @flow
    async def child() -> None:
        raise ValueError("child boom")

    @flow
    async def parent() -> None:
        await child()

    with pytest.raises(ValueError, match="child boom"):
        asyncio.run(parent())
    parent_created, child_created = events.flow_runs()
    for run_id in (parent_created.flow_run_id, child_created.flow_run_id):
        final = events.final_state(run_id)
        assert final is not None
        assert final.message == "Flow run encountered an exception: ValueError: child boom"


def test_an_async_subflow_with_return_state_lets_the_async_parent_continue() -> None:
    @flow
    async def child() -> None:
        raise ValueError("child boom")

    @flow
    async def parent() -> str:
        state = await child(return_state=True)
        return "continued" if state.is_failed() else "unexpected"

    assert asyncio.run(parent()) == "continued"
