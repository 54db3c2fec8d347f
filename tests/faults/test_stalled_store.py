"""Case 4: a stalled store (a PostgreSQL table lock, another SQLite process holding the write
lock) does not hold the flow: the flow returns with its result and one warning, and its records
arrive once the lock is released."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.faults._db import count_task_runs, flow_states
from tests.store.processes import opened, start, wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes")
TASKS = 200

# The flow runs while the store is locked, says it returned, and exits when told to.
FLOW_THEN_WAIT = """
    import sys, time
    from pathlib import Path
    from headwater import flow, task

    @task
    def one(i: int) -> int:
        return i

    @flow
    def many(n: int) -> int:
        return sum(one(i) for i in range(n))

    returned, go = Path(sys.argv[2]), Path(sys.argv[3])
    result = many(int(sys.argv[1]))
    written = returned.with_suffix(".tmp")  # whole, then renamed: never seen half-written
    written.write_text(str(result))
    written.rename(returned)
    while not go.exists():
        time.sleep(0.02)
"""


@contextmanager
def locked(url: str) -> Iterator[None]:
    """Hold the store's write lock (SQLite) or an exclusive lock on its runs (PostgreSQL)."""
    with opened(url) as store:
        store.upgrade()  # the schema exists, so the lock is on the tables the writer needs
    if url.startswith("sqlite"):
        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        plain, _, query = url.partition("?")
        conn = psycopg.connect(plain.replace("postgresql+psycopg://", "postgresql://"),
                               options=query.split("options=")[1].replace("%3D", "="))
        conn.execute("LOCK TABLE flow_runs, task_runs IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        conn.rollback()
        conn.close()


@pytest.mark.parametrize("writer", ["process", "thread"])
def test_a_locked_store_lets_the_flow_return_and_its_records_arrive_after_the_lock(
    url: str, writer: str, tmp_path: Path
) -> None:
    returned, go = tmp_path / "returned", tmp_path / "go"
    proc = None
    try:
        with locked(url):
            proc = start(FLOW_THEN_WAIT, url, str(TASKS), str(returned), str(go),
                         HEADWATER_STORE_WRITER=writer, HEADWATER_FLUSH_TIMEOUT="1")
            # The flow returns its result while the lock is still held
            wait_until(returned.exists, timeout=120, proc=proc)
            assert returned.read_text() == str(sum(range(TASKS)))
        go.touch()
        _, err = proc.communicate(timeout=300)
    finally:
        if proc is not None and proc.poll() is None:  # a failed check: leave nothing running
            proc.kill()
            proc.communicate()

    assert proc.returncode == 0, err
    assert err.count("HEADWATER_FLUSH_TIMEOUT") == 1, err
    assert wait_until(lambda: flow_states(url) == ["Completed"], timeout=120)
    assert wait_until(lambda: count_task_runs(url, "Completed") == TASKS, timeout=120)
