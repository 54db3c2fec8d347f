"""Run control, inside one process: what a cancel request does to a running flow run.

Task runs that have not started end Cancelled; a task run already running finishes its call;
no retry starts; subflows stop too; the flow ends Cancelled after its on_cancellation hooks.
(`tests/engine/test_cancel_across_processes.py` asks from another process, through the store.)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from headwater import cancel_flow_run, flow, runtime, task
from headwater.engine.runtime import process_runtime
from headwater.errors import CancelledRun, RunNotFoundError
from headwater.events.memory import MemorySink
from headwater.runners import ThreadPoolTaskRunner

pytestmark = pytest.mark.timeout(60)
GATE = 30.0  # only to stop a hang


@pytest.fixture
def memory_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cancel_flow_run` reaches runs of this process only (no store to write to)."""
    monkeypatch.setenv("HEADWATER_STORE", "memory")


class Gate:
    """Holds task runs inside their call until the test has asked the flow to stop."""

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()

    def pass_through(self) -> None:
        self.entered.release()
        assert self.release.wait(GATE)

    def wait_for(self, runs: int) -> None:
        for _ in range(runs):
            assert self.entered.acquire(timeout=GATE)


@pytest.fixture
def gate() -> Iterator[Gate]:
    made = Gate()
    yield made
    made.release.set()


def cancel_when_inside(gate: Gate, runs: int, flow_run_id: list[UUID]) -> threading.Thread:
    """From another thread: once `runs` task runs are inside the gate, cancel the flow, wait
    until it has noticed (Cancelling), then let the task runs finish their calls."""

    def ask() -> None:
        gate.wait_for(runs)
        cancel_flow_run(flow_run_id[0])
        gate.release.set()

    thread = threading.Thread(target=ask)
    thread.start()
    return thread


def test_a_cancelled_flow_lets_running_tasks_finish_and_cancels_the_rest(
    memory_store: None, gate: Gate, events: MemorySink
) -> None:
    hooks: list[str] = []
    my_id: list[UUID] = []

    @task
    def step(i: int) -> int:
        gate.pass_through()
        return i

    def on_cancel(flow: Any, run: Any, state: Any) -> None:
        hooks.append(state.name)

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=2), on_cancellation=[on_cancel])
    def pipeline() -> list[int]:
        my_id.append(UUID(str(runtime.flow_run.id)))
        asker = cancel_when_inside(gate, 2, my_id)
        futures = step.map(range(50))
        asker.join(GATE)
        return [f.result() for f in futures]

    state = pipeline(return_state=True)

    assert state.name == "Cancelled" and state.type.value == "CANCELLED"
    assert hooks == ["Cancelled"]
    flow_states = events.state_names(my_id[0])
    assert flow_states == ["Pending", "Running", "Cancelling", "Cancelled"]
    finals = [events.state_names(r.task_run_id)[-1] for r in events.task_runs()]
    assert len(finals) == 50
    assert finals.count("Completed") == 2  # the two inside their call when asked
    assert finals.count("Cancelled") == 48
    cancelled = next(r for r in events.task_runs()
                     if events.state_names(r.task_run_id)[-1] == "Cancelled")
    assert events.state_names(cancelled.task_run_id) == ["Pending", "Cancelled"]
    with pytest.raises(CancelledRun):
        state.result()


def test_no_retry_starts_once_the_flow_is_cancelled(
    memory_store: None, gate: Gate, events: MemorySink
) -> None:
    attempts: list[int] = []
    my_id: list[UUID] = []

    @task(retries=5)
    def flaky() -> None:
        attempts.append(1)
        gate.pass_through()
        raise ValueError("try again")

    @flow
    def pipeline() -> None:
        my_id.append(UUID(str(runtime.flow_run.id)))
        asker = cancel_when_inside(gate, 1, my_id)
        future = flaky.submit()
        asker.join(GATE)
        future.wait()

    state = pipeline(return_state=True)

    assert state.name == "Cancelled"
    assert len(attempts) == 1
    task_states = events.state_names(events.task_runs()[0].task_run_id)
    assert task_states[-1] == "Failed" and "Retrying" not in task_states


def test_cancelling_a_parent_stops_its_subflows_and_their_tasks(
    memory_store: None, gate: Gate, events: MemorySink
) -> None:
    my_id: list[UUID] = []

    @task
    def step(i: int) -> int:
        gate.pass_through()
        return i

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=1))
    def child() -> list[int]:
        return [f.result() for f in step.map(range(10))]

    @flow
    def parent() -> list[int]:
        my_id.append(UUID(str(runtime.flow_run.id)))
        asker = cancel_when_inside(gate, 1, my_id)
        try:
            return child()
        finally:
            asker.join(GATE)

    state = parent(return_state=True)

    assert state.name == "Cancelled"
    subflow = events.child_flow_runs(my_id[0])[0]
    assert events.state_names(subflow.flow_run_id)[-1] == "Cancelled"
    finals = [events.state_names(r.task_run_id)[-1] for r in events.task_runs()]
    assert sorted(set(finals)) == ["Cancelled", "Completed"] and finals.count("Completed") == 1


def test_direct_task_calls_after_a_cancel_request_do_not_run(
    memory_store: None, events: MemorySink
) -> None:
    ran: list[int] = []

    @task
    def step(i: int) -> int:
        ran.append(i)
        return i

    @flow
    def pipeline() -> None:
        step(1)
        cancel_flow_run(runtime.flow_run.id)
        step(2)  # raises CancelledRun: its run was cancelled before it started

    state = pipeline(return_state=True)

    assert state.name == "Cancelled" and ran == [1]
    finals = [events.state_names(r.task_run_id)[-1] for r in events.task_runs()]
    assert finals == ["Completed", "Cancelled"]


def test_an_async_flow_is_cancelled_the_same_way(memory_store: None, events: MemorySink) -> None:
    ran: list[int] = []

    @task
    async def step(i: int) -> int:
        ran.append(i)
        return i

    @flow
    async def pipeline() -> None:
        await step(1)
        cancel_flow_run(runtime.flow_run.id)
        await step(2)

    state = asyncio.run(pipeline(return_state=True))

    assert state.name == "Cancelled" and ran == [1]


def test_cancelling_a_run_that_is_not_running_here_says_so(memory_store: None) -> None:
    with pytest.raises(RunNotFoundError, match="is running in this process"):
        cancel_flow_run(uuid4())
    with pytest.raises(RunNotFoundError, match="'not-an-id'"):
        cancel_flow_run("not-an-id")


def test_a_finished_run_forgets_its_cancel_request(memory_store: None) -> None:
    my_id: list[str] = []

    @flow
    def pipeline() -> None:
        my_id.append(str(runtime.flow_run.id))
        cancel_flow_run(runtime.flow_run.id)

    assert pipeline(return_state=True).name == "Cancelled"
    control = process_runtime().control
    assert not control.running(UUID(my_id[0]))
    assert control.requested_at(UUID(my_id[0])) is None
