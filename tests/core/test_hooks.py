"""State hooks: which fire when, with what arguments, and how their failures are contained."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import pytest

from headwater import flow, task
from headwater.events.memory import MemorySink
from headwater.testing import FrozenClock


def test_task_hooks_fire_with_the_task_the_run_and_the_state() -> None:
    seen: list[tuple[str, Any, str]] = []

    def on_ok(tsk: Any, run: Any, state: Any) -> None:
        seen.append(("completion", tsk.name, state.name))

    def on_start(tsk: Any, run: Any, state: Any) -> None:
        seen.append(("running", run.name, state.name))

    @task(on_completion=[on_ok], on_running=[on_start])
    def work() -> int:
        return 1

    work()
    assert seen == [("running", "work", "Running"), ("completion", "work", "Completed")]


def test_on_failure_fires_once_after_retries_are_exhausted(clock: FrozenClock) -> None:
    failures = []
    running = []

    @task(retries=2, on_failure=[lambda t, r, s: failures.append(s.name)],
          on_running=[lambda t, r, s: running.append(s.name)])
    def broken() -> None:
        raise ValueError("x")

    with pytest.raises(ValueError):
        broken()
    assert failures == ["Failed"]
    assert running == ["Running", "Retrying", "Retrying"]


def test_several_hooks_run_in_order_and_a_failing_one_does_not_stop_the_rest(
    events: MemorySink,
) -> None:
    order = []

    def first(*_: Any) -> None:
        order.append("first")

    def explodes(*_: Any) -> None:
        order.append("explodes")
        raise RuntimeError("hook broke")

    def last(*_: Any) -> None:
        order.append("last")

    @flow(on_completion=[first, explodes, last])
    def fine() -> str:
        return "ok"

    state = fine(return_state=True)
    assert state.is_completed() and state.result() == "ok"
    assert order == ["first", "explodes", "last"]
    messages = "\n".join(events.messages())
    assert "An error was encountered while running hook 'explodes'" in messages
    assert "Hook 'last' finished running successfully" in messages


def test_flow_failure_hooks_receive_the_failed_state() -> None:
    got = []

    @flow(on_failure=[lambda f, r, s: got.append((f.name, s.message))])
    def failing() -> None:
        raise ValueError("bad")

    with pytest.raises(ValueError):
        failing()
    assert got == [("failing", "Flow run encountered an exception: ValueError: bad")]


def test_on_failure_runs_when_parameters_are_invalid() -> None:
    got = []

    @flow(on_failure=[lambda f, r, s: got.append(s.name)])
    def typed(x: int) -> int:
        return x

    with pytest.raises(TypeError):
        typed("not a number")
    assert got == ["Failed"]


def test_async_hooks_are_awaited_and_partials_are_named() -> None:
    got = []

    async def async_hook(tsk: Any, run: Any, state: Any) -> None:
        await asyncio.sleep(0)
        got.append("async")

    def named(tag: str, *_: Any) -> None:
        got.append(tag)

    @task(on_completion=[async_hook, functools.partial(named, "partial")])
    def work() -> None:
        return None

    work()
    assert got == ["async", "partial"]


def test_hooks_registered_with_decorators_run() -> None:
    got = []

    @flow
    def my_flow() -> None:
        return None

    @my_flow.on_completion
    def done(f: Any, r: Any, s: Any) -> None:
        got.append(s.name)

    my_flow()
    assert got == ["Completed"]


def test_a_crashed_flow_runs_on_crashed_hooks_and_reraises_the_interrupt(
    events: MemorySink,
) -> None:
    got = []

    @flow(on_crashed=[lambda f, r, s: got.append(s.message)])
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert got == ["Execution was aborted by an interrupt signal."]
    [run] = events.flow_runs()
    assert events.final_state(run.flow_run_id).is_crashed()


def test_a_flow_returning_a_cancelled_state_runs_no_cancellation_hooks() -> None:
    # As in Prefect 3.9.1: on_cancellation answers a cancel request, not a returned state.
    from headwater.core.states import Cancelled

    seen: list[str] = []

    @flow(on_cancellation=[lambda f, r, s: seen.append(s.name)])
    def gives_up() -> Any:
        return Cancelled(message="by hand")

    assert gives_up(return_state=True).is_cancelled()
    assert seen == []
