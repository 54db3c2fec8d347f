"""The one place the engine reads time and waits: swap it in tests, never sleep for real.

The current clock belongs to the runtime (`headwater.engine.runtime`).

Example:
    >>> from headwater.testing import FrozenClock, use_clock
    >>> with use_clock(FrozenClock()) as clock:
    ...     flaky()                      # retries "wait" instantly
    ...     assert clock.slept == [2.0, 4.0]
"""

from __future__ import annotations

import time


class Clock:
    """Real time."""

    def __init__(self) -> None:
        if type(self) is Clock:  # real time: the C function itself, no frame per read
            self.now = time.time  # type: ignore[method-assign]

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

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
