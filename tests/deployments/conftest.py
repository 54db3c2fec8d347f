"""Every store a serve loop of a test opened is closed after the test (its assertions read
through it after the loop stopped)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.deployments.helpers import OPENED


@pytest.fixture(autouse=True)
def closing() -> Iterator[None]:
    yield
    while OPENED:
        OPENED.pop().close()
