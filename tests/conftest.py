"""Shared fixtures. Small and explicit: nothing here is autouse."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.engine.runtime import use_clock
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


# -- the run store --------------------------------------------------------------------------------
_SESSION_HOME: str | None = None
PG_DSN = os.environ.get(
    "HEADWATER_TEST_PG_DSN", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def pytest_configure(config: pytest.Config) -> None:
    """Runs record into SQLite by default: point HEADWATER_HOME at a throwaway folder, so no
    test (nor any subprocess it starts) ever writes to the real ~/.headwater."""
    global _SESSION_HOME
    _SESSION_HOME = tempfile.mkdtemp(prefix="headwater-tests-")
    os.environ["HEADWATER_HOME"] = _SESSION_HOME
    # Some tests start interpreters without any HEADWATER_* variable; with HOME here too,
    # their `~/.headwater` is a throwaway folder as well.
    os.environ["HOME"] = _SESSION_HOME


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SESSION_HOME is not None:
        shutil.rmtree(_SESSION_HOME, ignore_errors=True)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL for a fresh SQLite run store under tmp_path."""
    return f"sqlite:///{tmp_path / 'headwater.db'}"


def _pg_unreachable_reason() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'headwater[postgres]')"
    dsn = PG_DSN.replace("postgresql+psycopg://", "postgresql://")
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except Exception as exc:
        return f"PostgreSQL at {PG_DSN!r} is unreachable ({type(exc).__name__}: {exc})"
    return None


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """HEADWATER_TEST_PG_DSN, checked once. Skips the test when PostgreSQL is unreachable,
    except under CI=true, where that is a failure."""
    reason = _pg_unreachable_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    return PG_DSN


@pytest.fixture
def pg_url(pg_dsn: str) -> Iterator[str]:
    """A URL for a PostgreSQL run store in a schema of its own, dropped after the test."""
    import psycopg

    schema = f"hw_test_{uuid.uuid4().hex[:12]}"
    plain = pg_dsn.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in pg_dsn else "?"
    try:
        yield f"{pg_dsn}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
