"""Retry decisions: pure functions the sync and async drivers share.

Delays: a number, or a list indexed by retry number whose last value repeats. Jitter spreads a
delay uniformly over `delay × (1 ± factor)` (never below 0): with factor 0.5 a 10 s delay becomes
anything from 5 s to 15 s. Prefect validates `retry_jitter_factor` but never applies it; we do.
"""

from __future__ import annotations

import random
from collections.abc import Callable


def retry_delay(delays: float | list[float], retry_number: int) -> float:
    """The delay before retry `retry_number` (1 = the first retry)."""
    if isinstance(delays, list):
        if not delays:
            return 0.0
        return delays[min(retry_number - 1, len(delays) - 1)]
    return delays


def apply_jitter(
    delay: float, factor: float | None, uniform: Callable[[float, float], float] = random.uniform
) -> float:
    """`delay` moved by up to `factor × delay` either way, never below zero."""
    if not factor or delay <= 0:
        return delay
    return max(0.0, delay * (1 + uniform(-factor, factor)))


def retries_left(run_count: int, max_retries: int) -> bool:
    """True while attempts so far (`run_count`) have not used up `1 + max_retries`."""
    return run_count <= max_retries
