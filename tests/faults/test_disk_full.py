"""Case 6 (first part): the store's disk is full while a flow runs. The flow completes; its
records wait in the spill and land when space returns, so the run never shows Crashed; if
they cannot land before the process ends, they wait in a spill file for the next writer.

SQLite: the flow's process (and its writer process) may not grow any file past a size
(`RLIMIT_FSIZE`), which the test lifts later (`prlimit`). PostgreSQL, whose disk the test does
not own: a trigger refuses every write the way a full disk does, until it is dropped."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults._db import count_task_runs, flow_states
from tests.faults.test_stalled_store import FLOW_THEN_WAIT
from tests.store.processes import env_for, opened, wait_until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prlimit")
TASKS = 200
HEADROOM = 16 * 1024  # bytes the database file may still grow by: the first batch, at most


def _descendants(pid: int) -> list[int]:
    found = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found += _descendants(int(entry.name))
    return found


@contextmanager
def refusing_writes(url: str) -> Iterator[None]:
    """PostgreSQL: every insert into the run tables fails, as on a full disk, in the block."""
    import psycopg

    plain, _, query = url.partition("?")
    with psycopg.connect(plain.replace("postgresql+psycopg://", "postgresql://"),
                         options=query.split("options=")[1].replace("%3D", "="),
                         autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'could not extend file: No space left on device' "
            "USING ERRCODE = '53100'; END $$")
        for table in ("flow_runs", "task_runs", "logs"):
            conn.execute(f"CREATE TRIGGER full_{table} BEFORE INSERT OR UPDATE ON {table} "
                         f"FOR EACH ROW EXECUTE FUNCTION disk_full()")
        try:
            yield
        finally:
            for table in ("flow_runs", "task_runs", "logs"):
                conn.execute(f"DROP TRIGGER full_{table} ON {table}")


def _start(url: str, tmp_path: Path, writer: str, limit: int | None) -> subprocess.Popen[str]:
    """The flow process; its stderr goes to `tmp_path / "err"`, to be watched."""
    def limit_file_size() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    with (tmp_path / "err").open("w") as err:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(FLOW_THEN_WAIT), str(TASKS),
             str(tmp_path / "returned"), str(tmp_path / "go")],
            env=env_for(url, HEADWATER_STORE_WRITER=writer, HEADWATER_FLUSH_TIMEOUT="1"),
            stdout=subprocess.DEVNULL, stderr=err, text=True, preexec_fn=limit_file_size,
        )


def _said(tmp_path: Path, words: str) -> bool:
    return words in (tmp_path / "err").read_text()


@pytest.mark.parametrize("writer", ["process", "thread"])
def test_a_full_disk_never_leaves_a_completed_run_crashed(
    url: str, writer: str, tmp_path: Path
) -> None:
    with opened(url) as store:
        store.upgrade()
    sqlite = url.startswith("sqlite")
    database = Path(url.removeprefix("sqlite:///")) if sqlite else None
    with (refusing_writes(url) if not sqlite else _nothing()):
        limit = os.path.getsize(database) + HEADROOM if database is not None else None
        proc = _start(url, tmp_path, writer, limit)
        # The flow completes and returns its result while nothing can be written
        wait_until((tmp_path / "returned").exists, timeout=120, proc=proc)
        assert (tmp_path / "returned").read_text() == str(sum(range(TASKS)))
        wait_until(lambda: _said(tmp_path, "could not write run history"), timeout=120)
        if database is not None:  # space returns
            for pid in _descendants(proc.pid):
                resource.prlimit(pid, resource.RLIMIT_FSIZE,
                                 (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    (tmp_path / "go").touch()
    proc.wait(timeout=300)
    err = (tmp_path / "err").read_text()

    assert proc.returncode == 0, err
    assert wait_until(lambda: count_task_runs(url, "Completed") == TASKS, timeout=180)
    assert wait_until(lambda: flow_states(url) == ["Completed"], timeout=60)
    with opened(url) as store:
        [run] = store.read_flow_runs()
        assert [s.name for s in store.read_states(run.id)] == ["Pending", "Running", "Completed"]
    assert err.count("could not write run history") == 1, err  # said once


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def test_records_a_full_disk_kept_from_the_store_land_with_the_next_writer(
    url: str, tmp_path: Path
) -> None:
    # Given a flow process whose store stays full until it has exited (thread writer: what
    # waits is saved to a spill file at exit)
    with opened(url) as store:
        store.upgrade()
    sqlite = url.startswith("sqlite")
    database = Path(url.removeprefix("sqlite:///")) if sqlite else None
    (tmp_path / "go").touch()
    with (refusing_writes(url) if not sqlite else _nothing()):
        limit = os.path.getsize(database) + HEADROOM if database is not None else None
        first = _start(url, tmp_path, "thread", limit)
        first.wait(timeout=300)
    err = (tmp_path / "err").read_text()
    assert first.returncode == 0, err
    assert (tmp_path / "returned").read_text() == str(sum(range(TASKS)))
    assert "wait in" in err and ".saved" in err  # it says where the records wait

    # When the next process writes to the store, with space again
    second = _start(url, tmp_path, "thread", None)
    second.wait(timeout=300)
    assert second.returncode == 0, (tmp_path / "err").read_text()

    # Then the first run's records are stored too, and it is Completed, never Crashed
    assert flow_states(url) == ["Completed", "Completed"]
    assert count_task_runs(url, "Completed") == 2 * TASKS
    with opened(url) as store:
        for run in store.read_flow_runs():
            assert [s.name for s in store.read_states(run.id)] == [
                "Pending", "Running", "Completed"]
