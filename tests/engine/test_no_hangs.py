"""Three ways a run used to wait forever, now finishing (each test has a timeout only to stop a
hang; none measures time).

1. Two async runs need one SERIALIZABLE cache lock: the waiting one used to block the event
   loop the holder needed to finish. Blocking effects now run off the loop.
2. An async task waiting for the result of an async task it submitted: all async tasks used to
   share one event loop, which the waiting task blocked.
3. A task run waiting for its own future: refused at once with an error naming the task.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from headwater import flow, task
from headwater.cache_policies import INPUTS
from headwater.errors import SelfDependencyError
from headwater.events.memory import MemorySink
from headwater.results import MemoryLockManager
from headwater.runners import ThreadPoolTaskRunner

pytestmark = pytest.mark.timeout(60)


def serializable() -> object:
    return INPUTS.configure(isolation_level="SERIALIZABLE", lock_manager=MemoryLockManager())


def test_two_async_tasks_submitted_with_one_serializable_cache_key_both_finish(
    tmp_path: object, events: MemorySink
) -> None:
    calls: list[int] = []

    @task(cache_policy=serializable(), result_storage=str(tmp_path))
    async def compute(x: int) -> int:
        calls.append(x)
        await asyncio.sleep(0.05)  # holds the lock while the other run asks for it
        return x * 10

    @flow
    async def pipeline() -> list[int]:
        first, second = compute.submit(1), compute.submit(1)
        return [first.result(), second.result()]

    assert asyncio.run(pipeline()) == [10, 10]
    assert calls == [1]  # the second run waited for the lock, then found the first's result
    finals = sorted(events.state_names(r.task_run_id)[-1] for r in events.task_runs())
    assert finals == ["Cached", "Completed"]


def test_a_lock_wait_in_an_async_flow_leaves_its_event_loop_free(tmp_path: object) -> None:
    # Both calls run on the flow's own loop: while the second waits for the lock, the loop must
    # still run the coroutine that lets the first one finish.
    gate = asyncio.Event()

    @task(cache_policy=serializable(), result_storage=str(tmp_path))
    async def guarded(x: int) -> int:
        await gate.wait()
        return x

    async def open_gate_soon() -> None:
        await asyncio.sleep(0.05)
        gate.set()

    @flow
    async def pipeline() -> list[object]:
        return list(await asyncio.gather(guarded(3), guarded(3), open_gate_soon()))

    assert asyncio.run(pipeline()) == [3, 3, None]


@task
async def inner(x: int) -> int:
    await asyncio.sleep(0)
    return x + 1


@task
async def outer(x: int) -> int:
    return inner.submit(x).result() * 2  # blocks this task's thread, and only that


def test_an_async_task_waiting_for_an_async_task_it_submitted_finishes() -> None:
    @flow(task_runner=ThreadPoolTaskRunner(max_workers=4))
    def sync_pipeline() -> int:
        return outer.submit(1).result()

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=4))
    async def async_pipeline() -> list[int]:
        return [f.result() for f in outer.map([1, 2, 3])]

    assert sync_pipeline() == 4
    assert asyncio.run(async_pipeline()) == [4, 6, 8]


def test_a_task_run_that_would_wait_for_its_own_future_fails_naming_the_task(
    events: MemorySink,
) -> None:
    own: dict[str, object] = {}
    known = threading.Event()

    @task
    def child() -> int:
        return 1

    @task
    def waits_for_itself() -> int:
        known.wait(30)
        return child.submit(wait_for=[own["future"]]).result()

    @task
    def calls_with_itself() -> int:
        known.wait(30)
        return child(wait_for=[own["future"]])

    @flow
    def pipeline(which: str) -> str:
        target = waits_for_itself if which == "submit" else calls_with_itself
        own["future"] = future = target.submit()
        known.set()
        state = future.wait() or future.state
        return f"{state.name}: {state.message}"

    for which, name in (("submit", "waits_for_itself"), ("call", "calls_with_itself")):
        known.clear()
        summary = pipeline(which)
        assert summary.startswith("Failed:"), summary
        assert f"(task {name!r}) would wait for its own result" in summary
    with pytest.raises(SelfDependencyError):
        raise own["future"].state.data  # type: ignore[union-attr]
