"""Reading commands work on a read-only home: `runs ls`, `runs inspect`, `db check` and the
server's API read the database without writing a byte (no crash marks, no -shm file), and a
flow recording there says clearly that the store is read-only.

The home is made read-only the way a read-only disk is: a read-only bind mount, in a mount
namespace of the command's own (`unshare --mount`), which binds root too, unlike file modes.
Where mount namespaces are not allowed, the test is skipped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.store.processes import env_for, flow_runs, opened, start, wait_until

FLOW = """
    import sys, time
    from headwater import flow, task

    @task
    def step(i: int) -> int:
        if i < 0:
            time.sleep(300)  # a run whose process is killed: it stays Running in the store
        return i

    @flow
    def steps(n: int = 20) -> int:
        if n < 0:
            return step(n)
        return sum(step.map(range(n)).result())

    steps(int(sys.argv[1]))
"""
SERVER_READ = """
    import sys
    from fastapi.testclient import TestClient
    from headwater.server.app import create_app
    from headwater.store import sql_store

    with TestClient(create_app(sql_store(), detect_crashes=True)) as client:
        response = client.get("/api/flow_runs")
        print(response.status_code, len(response.json()["items"] if isinstance(response.json(),
              dict) and "items" in response.json() else response.json()))
"""
FAST = {"HEADWATER_HEARTBEAT_SECONDS": "0.05", "HEADWATER_CRASH_AFTER_SECONDS": "0.5"}

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="a Linux mount namespace")


def read_only(home: Path, *command: str) -> list[str]:
    """`command`, run with `home` mounted read-only (for that command only)."""
    script = ('mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"')
    return ["unshare", "--mount", "sh", "-c", script, str(home), *command]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1)")
    probe = subprocess.run(read_only(tmp_path, "true"), capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"mount namespaces are not allowed here: {probe.stderr.strip()}")
    made = tmp_path / "home"
    made.mkdir()
    return made


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()
            if p.is_file()}


def test_reading_commands_work_on_a_read_only_home_and_write_nothing(home: Path) -> None:
    # Given a home with a completed run, and a run whose process was killed (still "Running")
    url = f"sqlite:///{home / 'headwater.db'}"
    done = start(FLOW, url, "20", HEADWATER_HOME=str(home), **FAST)
    done.communicate(timeout=120)
    assert done.returncode == 0
    killed = start(FLOW, url, "-1", HEADWATER_HOME=str(home), HEADWATER_STORE_WRITER="thread",
                   **FAST)
    wait_until(lambda: any(r.state_name == "Running" for r in flow_runs(url)), proc=killed)
    os.kill(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=60)
    with opened(url) as store:
        store.read_flow_runs()  # closing the last connection checkpoints: only the file is left
    before = digests(home)
    completed = next(r for r in flow_runs(url) if r.state_name == "Completed")
    env = env_for(url, HEADWATER_HOME=str(home), COLUMNS="300", **FAST)

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(read_only(home, *command), env=env, capture_output=True,
                              text=True, timeout=180)

    # When the home is read-only, the reading commands run
    listed = run(sys.executable, "-m", "headwater.cli.main", "runs", "ls", "--json")
    inspected = run(sys.executable, "-m", "headwater.cli.main", "runs", "inspect",
                    str(completed.id))
    checked = run(sys.executable, "-m", "headwater.cli.main", "db", "check")
    served = run(sys.executable, "-c", textwrap.dedent(SERVER_READ))
    recorded = run("env", "HEADWATER_STORE_WRITER=thread", sys.executable, "-c",
                   textwrap.dedent(FLOW), "3")

    # Then they read every run, and the home is exactly as it was
    assert listed.returncode == 0, listed.stderr
    assert sorted(r["state"] for r in __import__("json").loads(listed.stdout)) == [
        "Completed", "Running"]
    assert inspected.returncode == 0, inspected.stderr
    assert inspected.stdout.count("Completed") >= 21  # the flow run and its 20 task runs
    assert checked.returncode == 0, checked.stdout
    assert "read-only here" in checked.stdout
    assert served.returncode == 0 and served.stdout.split()[0] == "200", served.stderr
    assert recorded.returncode == 0  # the flow runs; its history cannot be kept, and it says so
    assert "read-only" in recorded.stderr and "HEADWATER_HOME" in recorded.stderr
    assert digests(home) == before
    # ... and once writable again, the next reader marks the dead run Crashed
    assert sorted(r.state_name for r in flow_runs(url)) == ["Completed", "Running"]
