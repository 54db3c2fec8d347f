"""The one place the engine reads time and waits: swap it in tests, never sleep for real.

Example:
    >>> from headwater.testing import FrozenClock
    >>> with use_clock(FrozenClock()) as clock:
    ...     flaky()                      # retries "wait" instantly
    ...     assert clock.slept == [2.0, 4.0]
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Clock:
    """Real time."""

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    async def sleep_async(self, seconds: float) -> None:
        if seconds > 0:
            import asyncio

            await asyncio.sleep(seconds)


_clock: Clock = Clock()


def current_clock() -> Clock:
    return _clock


@contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Make `clock` the engine's clock inside the block."""
    global _clock
    previous, _clock = _clock, clock
    try:
        yield clock
    finally:
        _clock = previous
