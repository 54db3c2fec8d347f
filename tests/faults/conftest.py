"""Fault-injection tests: each breaks the store the way the world does, then counts records.

Every test runs on SQLite and on PostgreSQL (`url`), with real processes and real databases;
none asserts how long something took (timeouts only stop a hang).
"""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest) -> str:
    """A fresh run store's URL: a SQLite file, or a PostgreSQL schema of its own."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
