"""Fixtures the engine's tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest


@pytest.fixture
def logging_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Set the engine's logging level for the test; the setting is restored after it."""
    from headwater.engine.logs import setup_logging

    def set_level(level: str) -> None:
        monkeypatch.setenv("HEADWATER_LOGGING_LEVEL", level)
        setup_logging(force=True)

    yield set_level
    monkeypatch.undo()
    setup_logging(force=True)
