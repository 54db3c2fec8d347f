"""A damaged database: `db check` reports it (exit 1), `db upgrade` says what to do, `db reset`
moves the file aside and starts an empty store, and a writer notices the damage before writing
into the file instead of filling a malformed file with new runs."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.store.processes import env_for, flow_runs, opened, start

FLOW = """
    from headwater import flow, task

    @task
    def step(i: int) -> int:
        return i

    @flow
    def steps(n: int = 400) -> int:
        return sum(step.map(range(n)).result())

    import sys
    steps(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
"""


def run_flow(url: str, n: int = 400) -> subprocess.CompletedProcess[str]:
    proc = start(FLOW, url, str(n))
    out, err = proc.communicate(timeout=180)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def headwater(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "headwater.cli.main", *args], env=env_for(url, COLUMNS="300"),
        capture_output=True, text=True, timeout=180,
    )


def damage_the_middle(path: Path) -> None:
    """Overwrite pages in the middle of the file with noise, as a bad sector or a stray write
    would; the file's first pages (its header and schema) stay sound."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = path.stat().st_size // page
    with open(path, "r+b") as file:
        for number in range(pages // 3, 2 * pages // 3, 5):
            file.seek(number * page)
            file.write(os.urandom(page))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def damaged(sqlite_url: str, tmp_path: Path) -> Path:
    """A store holding one run of 400 task runs, damaged in the middle."""
    assert run_flow(sqlite_url).returncode == 0
    path = tmp_path / "headwater.db"
    damage_the_middle(path)
    return path


def test_a_writer_notices_the_damage_and_writes_nothing_into_the_file(
    sqlite_url: str, damaged: Path
) -> None:
    before = digest(damaged)

    ran = run_flow(sqlite_url, 3)

    assert ran.returncode == 0, ran.stderr  # the flow itself runs on
    assert "is corrupt" in ran.stderr and "headwater db check" in ran.stderr
    assert "headwater db reset" in ran.stderr
    assert digest(damaged) == before


def test_db_check_reports_the_damage_and_exits_1(sqlite_url: str, damaged: Path) -> None:
    checked = headwater(sqlite_url, "db", "check")
    quick = headwater(sqlite_url, "db", "check", "--quick")

    assert checked.returncode == 1 and quick.returncode == 1
    assert "Problem:" in checked.stdout and "headwater db reset" in checked.stdout
    assert str(damaged) in checked.stdout


def test_db_upgrade_on_a_damaged_file_says_to_check_and_reset(
    sqlite_url: str, damaged: Path
) -> None:
    upgraded = headwater(sqlite_url, "db", "upgrade")

    assert upgraded.returncode == 1
    assert "is corrupt" in upgraded.stderr
    assert "`headwater db check`" in upgraded.stderr and "`headwater db reset`" in upgraded.stderr
    assert "Traceback" not in upgraded.stderr


def test_db_reset_moves_a_damaged_file_aside_and_the_next_run_records_everything(
    sqlite_url: str, damaged: Path
) -> None:
    before = digest(damaged)

    reset = headwater(sqlite_url, "db", "reset", "--yes")

    assert reset.returncode == 0, reset.stderr
    [moved] = damaged.parent.glob("headwater.db.corrupt-*[0-9]Z")
    assert f"Moved the damaged run store to {str(moved)!r}" in reset.stdout
    assert digest(moved) == before
    assert headwater(sqlite_url, "db", "check").returncode == 0
    assert run_flow(sqlite_url, 50).returncode == 0
    [run] = [r for r in flow_runs(sqlite_url) if r.parameters == {"n": 50}]
    with opened(sqlite_url) as store:
        tasks = store.read_task_runs(run.id)
    assert run.state_name == "Completed"
    assert len(tasks) == 50 and {t.state_name for t in tasks} == {"Completed"}


def test_a_file_that_is_not_a_database_is_reported_and_moved_aside(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "headwater.db"
    path.write_bytes(os.urandom(64 * 1024))

    checked = headwater(sqlite_url, "db", "check")
    upgraded = headwater(sqlite_url, "db", "upgrade")
    listed = headwater(sqlite_url, "runs", "ls")
    reset = headwater(sqlite_url, "db", "reset", "--yes")

    assert checked.returncode == 1 and "not a database" in checked.stdout
    assert upgraded.returncode == 1 and "`headwater db reset`" in upgraded.stderr
    assert listed.returncode == 1 and "`headwater db reset`" in listed.stderr
    assert reset.returncode == 0 and "Moved the damaged run store" in reset.stdout
    assert headwater(sqlite_url, "runs", "ls").returncode == 0
    assert flow_runs(sqlite_url) == []


def test_db_check_on_postgres_reports_the_schema_and_an_unreachable_server(pg_url: str) -> None:
    assert headwater(pg_url, "db", "upgrade").returncode == 0
    healthy = headwater(pg_url, "db", "check")
    down = headwater("postgresql+psycopg://ana:secret-pw@127.0.0.1:1/none", "db", "check")

    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "schema version" in healthy.stdout and "No problems found." in healthy.stdout
    assert down.returncode == 1 and "Cannot reach the database" in down.stdout
    assert "secret-pw" not in down.stdout + down.stderr
