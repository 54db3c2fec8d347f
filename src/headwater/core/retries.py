"""`exponential_backoff`: retry delays that double, a value `retry_delay_seconds` accepts.

The retry decisions themselves (which delay comes next, jitter, whether retries are left) are
the engine's: `headwater.engine.retries`.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_BACKOFF_RETRIES = 50


def exponential_backoff(backoff_factor: float) -> Callable[[int], list[float]]:
    """Delays that double each retry: `exponential_backoff(10)(4) == [10, 20, 40, 80]`.

    Args:
        backoff_factor: the first delay, in seconds.

    Returns:
        A callable that `retry_delay_seconds` accepts; it is evaluated with the task's retries.
    """

    def delays(retries: int) -> list[float]:
        return [backoff_factor * 2**r for r in range(min(retries, MAX_BACKOFF_RETRIES))]

    return delays
