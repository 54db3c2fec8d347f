"""Shared fixtures. Small and explicit: nothing here is autouse."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from headwater.core.clock import use_clock
from headwater.events.memory import MemorySink
from headwater.testing import FrozenClock, capture_events


@pytest.fixture
def events() -> Iterator[MemorySink]:
    """Every record the engine emits during the test, in a real in-memory sink."""
    with capture_events() as sink:
        yield sink


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """An engine clock whose sleeps are instant and recorded in `clock.slept`."""
    with use_clock(FrozenClock()) as frozen:
        yield frozen  # type: ignore[misc]
