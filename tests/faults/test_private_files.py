"""What a run writes is private to its user: HEADWATER_HOME 0700, the database (with its -wal and
-shm) and result files 0600; a password in the database URL shows in no message and in no
command line of a process headwater starts."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from headwater.errors import RunNotFoundError, StoreUnavailableError
from headwater.store import sql_store
from tests.deployments.helpers import flow_file, ran
from tests.store.processes import env_for, flow_runs, opened, start, wait_until

GATED = """
    import sys, time
    from pathlib import Path
    from headwater import flow, task

    @task(persist_result=True)
    def value(i: int) -> int:
        return i

    @flow(persist_result=True)
    def gated(gate: str) -> int:
        total = sum(value(i) for i in range(3))
        Path(gate + ".started").write_text("")
        deadline = time.monotonic() + 120  # only to stop a hang
        while not Path(gate).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return total

    gated(sys.argv[1])
"""

QUICK = """
    from headwater import flow

    @flow
    def quick() -> int:
        return 1

    quick()
"""

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and /proc")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_gated(url: str, gate: Path, home: Path) -> subprocess.Popen[str]:
    proc = start(GATED, url, str(gate), HEADWATER_HOME=str(home))
    wait_until(lambda: Path(f"{gate}.started").exists(), timeout=120, proc=proc)
    return proc


def finish(proc: subprocess.Popen[str], gate: Path) -> None:
    gate.write_text("")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


def test_a_new_home_is_0700_and_the_database_its_wal_and_results_are_0600(tmp_path: Path) -> None:
    # Given a home that does not exist yet, two folders deep
    home = tmp_path / "not-yet" / "home"
    url = f"sqlite:///{home / 'headwater.db'}"
    proc = run_gated(url, tmp_path / "gate", home)

    # While the flow runs, SQLite's -wal and -shm files exist beside the database
    database = home / "headwater.db"
    wal, shm = Path(f"{database}-wal"), Path(f"{database}-shm")
    wait_until(lambda: wal.exists() and shm.exists(), timeout=60)
    modes = [mode(p) for p in (home.parent, home, database, wal, shm)]
    assert modes == [0o700, 0o700, 0o600, 0o600, 0o600]
    finish(proc, tmp_path / "gate")

    results = [p for p in (home / "storage").iterdir() if p.is_file()]
    assert len(results) >= 3  # one per task run at least
    assert {mode(p) for p in results} == {0o600}
    assert mode(home / "storage") == 0o700
    [run] = flow_runs(url)
    with opened(url) as store:
        assert run.state_name == "Completed"
        assert len(store.read_task_runs(run.id)) == 3


def test_a_database_left_world_readable_by_an_older_version_is_tightened(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = f"sqlite:///{home / 'headwater.db'}"
    finish(run_gated(url, tmp_path / "gate1", home), tmp_path / "gate1")
    os.chmod(home / "headwater.db", 0o644)

    finish(run_gated(url, tmp_path / "gate2", home), tmp_path / "gate2")

    assert mode(home / "headwater.db") == 0o600
    assert [r.state_name for r in flow_runs(url)] == ["Completed", "Completed"]


def cli(url: str, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "headwater.cli.main", *args], env=env_for(url, **settings),
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize("url", [
    "postgresl://ana:{pw}@db.example:5432/runs",  # misspelt scheme
    "mysql+pymysql://ana:{pw}@db.example/runs",  # unsupported database
    "ana:{pw}@db.example/runs",  # no scheme at all
])
def test_a_misspelt_or_unsupported_url_never_shows_its_password(url: str) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    url = url.format(pw=password)

    listed = cli(url, "runs", "ls")
    version = cli(url, "version")
    with pytest.raises(StoreUnavailableError) as raised:
        sql_store(url)
    flow = start(QUICK, url)
    _, flow_err = flow.communicate(timeout=120)

    assert listed.returncode == 1
    assert "ana:***@db.example" in listed.stderr
    assert "ana:***@db.example" in version.stdout
    assert "ana:***@db.example" in str(raised.value)
    for text in (listed.stdout, listed.stderr, version.stdout, str(raised.value),
                 raised.value.url, flow_err):
        assert password not in text


def test_a_postgres_url_with_a_password_is_masked_in_cli_and_api_messages(pg_url: str) -> None:
    # The test server trusts local connections, so any password is accepted and never needed.
    password = f"pw-{uuid.uuid4().hex}"
    url = pg_url.replace("postgres@", f"postgres:{password}@", 1)
    with opened(url) as store:
        store.upgrade()
        with pytest.raises(RunNotFoundError) as raised:
            store.read_flow_run("0123abcd")

    inspected = cli(url, "runs", "inspect", "0123abcd")
    upgraded = cli(url, "db", "upgrade")
    kind_mismatch = cli("sqlite:///x.db", "runs", "ls", HEADWATER_STORE="postgres",
                           HEADWATER_DATABASE_URL=f"mysql://ana:{password}@h/db")

    assert "postgres:***@" in str(raised.value)
    assert "postgres:***@" in inspected.stderr and inspected.returncode == 1
    assert "postgres:***@" in upgraded.stdout and upgraded.returncode == 0
    assert "ana:***@h" in kind_mismatch.stderr
    for text in (str(raised.value), inspected.stderr, inspected.stdout, upgraded.stdout,
                 kind_mismatch.stderr):
        assert password not in text


def command_lines() -> dict[int, str]:
    """Every process's command line, as `ps` shows it."""
    lines = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            lines[int(entry.name)] = raw.replace(b"\0", b" ").decode(errors="replace")
    return lines


def parent_of(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[1])


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc")
def test_no_process_headwater_starts_shows_the_password_in_its_command_line(
    pg_url: str, tmp_path: Path
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    url = pg_url.replace("postgres@", f"postgres:{password}@", 1)

    # A flow recording through a writer process
    proc = start(GATED, url, str(tmp_path / "gate"), HEADWATER_STORE_WRITER="process")
    wait_until(lambda: Path(f"{tmp_path / 'gate'}.started").exists(), timeout=120, proc=proc)
    lines = command_lines()
    writers = [pid for pid, line in lines.items()
               if "_writer_process" in line and parent_of(pid) == proc.pid]
    finish(proc, tmp_path / "gate")

    # A serve process and the process it starts for a run (blocked until released)
    flows = flow_file(tmp_path)
    serve = subprocess.Popen(
        [sys.executable, "-m", "headwater.cli.main", "serve", f"{flows}:ticker",
         "--interval", "1s", "-p", "mode=block"],
        env=env_for(url), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_until(lambda: ran(tmp_path), timeout=120, every=0.1, proc=serve)
        serving = command_lines()
        children = [pid for pid, line in serving.items()
                    if "headwater.deployments.child" in line and parent_of(pid) == serve.pid]
    finally:
        (tmp_path / "release").write_text("")
        serve.terminate()
        serve.communicate(timeout=120)

    assert writers, "the flow recorded through a writer process"
    assert children, "the serve process started a process for the run"
    assert not [line for line in [*lines.values(), *serving.values()] if password in line]
    assert [r.state_name for r in flow_runs(url) if r.flow_name == "gated"] == ["Completed"]


def test_a_lock_file_for_results_is_private(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        from headwater.results.locks import FileSystemLockManager
        locks = FileSystemLockManager({str(tmp_path / 'locks')!r})
        assert locks.acquire("k")
        locks.release("k")
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)

    assert mode(tmp_path / "locks") == 0o700
    assert mode(tmp_path / "locks" / "k.lock") == 0o600


def test_db_check_warns_about_a_home_other_users_can_read(tmp_path: Path) -> None:
    home = tmp_path / "shared-home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)  # as an older version (or the user) left it
    url = f"sqlite:///{home / 'headwater.db'}"
    finish(run_gated(url, tmp_path / "gate", home), tmp_path / "gate")

    checked = cli(url, "db", "check")

    assert checked.returncode == 0
    assert f"Make it private with: chmod 700 {str(home)!r}" in checked.stdout
    assert mode(home) == 0o755  # a folder that existed is never changed behind the user's back
    assert mode(home / "headwater.db") == 0o600
