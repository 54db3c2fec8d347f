"""Helpers for testing code that uses headwater: real implementations, not mocks.

    from headwater.testing import capture_events, FrozenClock, use_clock

    with capture_events() as events:
        my_flow()
    assert events.state_names(events.flow_runs()[0].flow_run_id)[-1] == "Completed"

    with use_clock(FrozenClock()) as clock:   # retries "wait" instantly
        flaky()
    assert clock.slept == [2.0, 4.0]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from headwater.engine.clock import Clock
from headwater.engine.execution import TaskRunRequest
from headwater.engine.runtime import Runtime, current_runtime, use_clock, use_runtime, use_sink
from headwater.events.memory import MemorySink

__all__ = [
    "FrozenClock", "MemorySink", "Runtime", "capture_events", "current_runtime",
    "task_run_request", "use_clock", "use_runtime", "use_sink",
]


@contextmanager
def capture_events() -> Iterator[MemorySink]:
    """Record every run inside the block in a fresh `MemorySink`, and yield it."""
    with use_sink(MemorySink()) as sink:
        yield sink  # type: ignore[misc]


class FrozenClock(Clock):
    """A clock that only moves when the engine sleeps: waits are instant and recorded.

    Attributes:
        slept: every wait the engine asked for, in seconds, in order.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._now += max(0.0, seconds)

    async def sleep_async(self, seconds: float) -> None:
        self.sleep(seconds)


def task_run_request(task: Any, /, **parameters: Any) -> TaskRunRequest:
    """A request for one run of `task` outside any flow run: what a runner under test gets.

    Example:
        >>> with ThreadPoolTaskRunner() as runner:
        ...     outcome = runner.submit(task_run_request(add, x=1, y=2)).result()
        >>> outcome.state.result()
        3
    """
    from headwater.engine.submission import build_request
    from headwater.engine.task_run import new_task_run

    bound = task._bind((), parameters)
    return build_request(task, new_task_run(task, bound, None), bound, None, None)
