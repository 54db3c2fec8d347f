"""Fixtures of the server tests: a store with recorded runs, served over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.live import run_flows, serving


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    """A fresh SQLite store, then a fresh PostgreSQL schema."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def recorded(store_url: str, tmp_path: Path) -> str:
    """The store, after `pipeline` and `broken` ran in a process of their own."""
    run_flows(store_url, tmp_path)
    return store_url


@pytest.fixture
def api(recorded: str) -> Iterator[httpx.Client]:
    """An HTTP client of a server over the recorded store."""
    with serving(recorded) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client
