"""Helpers for testing code that uses headwater: real implementations, not mocks.

    from headwater.testing import capture_events, FrozenClock

    with capture_events() as events:
        my_flow()
    assert events.state_names(events.flow_runs()[0].flow_run_id)[-1] == "Completed"
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from headwater.core.clock import Clock
from headwater.events import use_sink
from headwater.events.memory import MemorySink

__all__ = ["FrozenClock", "MemorySink", "capture_events"]


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
