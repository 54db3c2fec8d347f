"""Timeouts really stop the run's code: in the main thread, in worker threads, and async.

The code they stop would run for `NEVER` seconds: a timeout that did not stop it shows as a
hang that the test's own timeout ends, never as a bound on how long a busy machine took.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from headwater import flow, task
from headwater.errors import FlowRunTimeoutError, TaskRunTimeoutError
from headwater.events.memory import MemorySink

NEVER = 600.0  # longer than any test may take: only a timeout ends code that runs this long


def _busy(seconds: float) -> int:
    """Pure-Python work (no C call that blocks) for about `seconds`."""
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def test_a_busy_task_in_the_main_thread_is_stopped_and_ends_timed_out(
    events: MemorySink,
) -> None:
    @task(timeout_seconds=0.05)
    def spin() -> int:
        return _busy(NEVER)

    with pytest.raises(TaskRunTimeoutError) as info:
        spin()
    assert isinstance(info.value, TimeoutError)
    [run] = events.task_runs()
    final = events.final_state(run.task_run_id)
    assert final is not None and final.name == "TimedOut" and final.is_failed()
    assert str(final) == "TimedOut('Task run exceeded timeout of 0.05 second(s)', type=FAILED)"


def test_a_sleeping_task_in_the_main_thread_is_interrupted() -> None:
    @task(timeout_seconds=0.05)
    def nap() -> None:
        time.sleep(NEVER)

    with pytest.raises(TaskRunTimeoutError):
        nap()


def test_a_busy_task_in_a_worker_thread_is_stopped() -> None:
    @task(timeout_seconds=0.05)
    def spin() -> int:
        return _busy(NEVER)

    outcome: list[BaseException | None] = []

    def worker() -> None:
        try:
            spin()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(60)  # only to stop a hang
    assert len(outcome) == 1 and isinstance(outcome[0], TaskRunTimeoutError)


def test_user_code_catching_exception_cannot_swallow_the_timeout() -> None:
    @task(timeout_seconds=0.05)
    def stubborn() -> str:
        try:
            _busy(NEVER)
        except Exception:
            return "swallowed"
        return "finished"

    with pytest.raises(TaskRunTimeoutError):
        stubborn()


def test_a_flow_timeout_ends_the_flow_timed_out(events: MemorySink) -> None:
    @flow(timeout_seconds=0.05)
    def slow_flow() -> None:
        _busy(NEVER)

    state = slow_flow(return_state=True)
    assert state.name == "TimedOut" and state.is_failed()
    assert state.message == "Flow run exceeded timeout of 0.05 second(s)"
    with pytest.raises(FlowRunTimeoutError):
        state.result()


@pytest.mark.parametrize("depth", ["top level", "subflow"])
def test_a_flow_a_subflow_timeout_goes_through_ends_timed_out_as_prefect_says(
    events: MemorySink, depth: str
) -> None:
    # Given a flow without a timeout whose subflow times out, uncaught (at the top level: the
    # general flow logic; as a subflow itself: the straight-line one)
    @flow(timeout_seconds=0.05)
    def slow() -> None:
        _busy(NEVER)

    @flow
    def middle() -> None:
        slow()

    seen = []

    @flow
    def top() -> None:
        seen.append(middle(return_state=True))

    # Then it ends TimedOut too, with Prefect's message for a flow without a timeout
    if depth == "top level":
        state = middle(return_state=True)
    else:
        top()
        state = seen[0]
    assert state.name == "TimedOut" and state.is_failed()
    assert state.message == "Flow run exceeded timeout of None second(s)"


def test_an_async_task_timeout_cancels_it() -> None:
    @task(timeout_seconds=0.05)
    async def slow() -> None:
        await asyncio.sleep(NEVER)

    @flow
    async def runner() -> None:
        await slow()

    with pytest.raises(TaskRunTimeoutError):
        asyncio.run(runner())


def test_a_timeout_error_raised_by_user_code_is_not_mistaken_for_a_timeout() -> None:
    @task(timeout_seconds=5)
    async def raises() -> None:
        raise TimeoutError("mine")

    @flow
    async def runner() -> None:
        await raises()

    with pytest.raises(TimeoutError, match="mine") as info:
        asyncio.run(runner())
    assert not isinstance(info.value, TaskRunTimeoutError)


def test_a_task_that_finishes_in_time_is_not_disturbed() -> None:
    @task(timeout_seconds=2)
    def quick() -> int:
        return 42

    for _ in range(50):
        assert quick() == 42


def test_timed_out_tasks_are_retried(events: MemorySink) -> None:
    attempts = []

    @task(timeout_seconds=0.05, retries=1)
    def slow_then_fast() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            _busy(NEVER)
        return "done"

    assert slow_then_fast() == "done"
    assert len(attempts) == 2


def test_a_busy_task_submitted_to_the_thread_pool_is_stopped_by_its_timeout(
    events: MemorySink,
) -> None:
    @task(timeout_seconds=0.05)
    def spin() -> int:
        return _busy(NEVER)

    @flow
    def submits() -> str:
        future = spin.submit()
        future.wait()
        return future.state.name

    assert submits() == "TimedOut"
