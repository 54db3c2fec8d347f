"""`headwater runs cancel` from one process stops a flow run in another, through the store, on
SQLite and PostgreSQL, with the writer process and the writer thread.

The flow's two workers wait inside their task calls (on a file) until the test has seen the run
reach `Cancelling`, so the outcome is exact: the two runs that were inside their call complete,
every other run ends Cancelled, and the flow ends Cancelled after its hook.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from headwater.cli.main import cli
from headwater.store import FlowRunFilter
from tests.store.processes import env_for, opened, start, wait_until

pytestmark = pytest.mark.timeout(120)

FLOW = """
    import sys, time
    from pathlib import Path
    from headwater import flow, task
    from headwater.runners import ThreadPoolTaskRunner

    release, hook_marker = Path(sys.argv[1]), Path(sys.argv[2])

    @task
    def step(i: int) -> int:
        deadline = time.monotonic() + 60  # only to stop a hang
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return i

    def on_cancel(flow, run, state):
        hook_marker.write_text(state.name)

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=2), on_cancellation=[on_cancel])
    def gated(n: int = 40) -> list[int]:
        return [f.result() for f in step.map(range(n))]

    gated(return_state=True)
"""


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def cancel_with_the_cli(url: str, run_id: str, *args: str) -> object:
    env = {k: v for k, v in env_for(url).items() if k.startswith("HEADWATER_")}
    return CliRunner().invoke(cli, ["runs", "cancel", run_id, *args], env=env)


@pytest.mark.parametrize("writer", ["process", "thread"])
def test_runs_cancel_stops_a_flow_run_in_another_process(
    url: str, writer: str, tmp_path: Path
) -> None:
    release, hook_marker = tmp_path / "release", tmp_path / "hook"
    proc = start(FLOW, url, str(release), str(hook_marker), HEADWATER_STORE_WRITER=writer)
    try:
        # Given a flow run whose two workers are inside their first task calls
        def running_with_two_inside() -> str | None:
            with opened(url) as store:
                runs = store.read_flow_runs(FlowRunFilter(limit=1))
                if not runs or runs[0].state_name != "Running":
                    return None
                tasks = store.read_task_runs(runs[0].id)
                return str(runs[0].id) if sum(t.state_name == "Running" for t in tasks) == 2 \
                    else None

        run_id = wait_until(running_with_two_inside, timeout=60, proc=proc)

        # When another process asks it to stop (without waiting), and it has noticed
        asked = cancel_with_the_cli(url, run_id[:13], "--no-wait")
        assert asked.exit_code == 0, asked.output  # type: ignore[attr-defined]
        assert "to stop; it was Running" in asked.output  # type: ignore[attr-defined]

        def noticed() -> bool:
            with opened(url) as store:
                return store.read_flow_run(run_id).state_name == "Cancelling"

        wait_until(noticed, timeout=60, proc=proc)
        release.touch()
        proc.wait(timeout=60)
    finally:
        release.touch()
        if proc.poll() is None:
            proc.kill()
    _, err = proc.communicate()
    assert proc.returncode == 0, err

    # Then the run, and every task run that had not started, ended Cancelled
    with opened(url) as store:
        flow_run = store.read_flow_run(run_id)
        states = [s.name for s in store.read_states(flow_run.id)]
        tasks = store.read_task_runs(flow_run.id)
    assert flow_run.state_name == "Cancelled"
    assert states == ["Pending", "Running", "Cancelling", "Cancelled"]
    finals = [t.state_name for t in tasks]
    assert len(finals) == 40
    assert finals.count("Completed") == 2 and finals.count("Cancelled") == 38
    assert hook_marker.read_text() == "Cancelled"

    # And asking again says it is over
    again = cancel_with_the_cli(url, run_id)
    assert again.exit_code == 1  # type: ignore[attr-defined]
    assert "already finished in state 'Cancelled'" in again.output  # type: ignore[attr-defined]


BUSY = """
    import time
    from headwater import flow, task

    @task
    def step(i: int) -> int:
        time.sleep(0)  # lets the writer thread in: records keep coming, the backlog stays small
        return i

    @flow
    def busy(n: int = 20_000_000) -> int:
        return sum(step(i) for i in range(n))  # a direct call after the request raises

    busy(return_state=True)
"""


@pytest.mark.parametrize("writer", ["process", "thread"])
def test_a_busy_flow_whose_records_never_pause_still_sees_the_request(
    url: str, writer: str
) -> None:
    # A writer that only looked for requests once its queue ran dry would never look here:
    # the flow would run to Completed instead. The loop is long enough that, however far the
    # flow runs ahead of its stored records on a busy machine, it cannot finish first.
    proc = start(BUSY, url, HEADWATER_STORE_WRITER=writer, HEADWATER_LOGGING_LEVEL="WARNING")
    try:
        def busy_running() -> str | None:
            with opened(url) as store:
                runs = store.read_flow_runs(FlowRunFilter(limit=1))
                if not runs or runs[0].state_name != "Running":
                    return None
                return str(runs[0].id) if len(store.read_task_runs(runs[0].id)) > 1000 else None

        run_id = wait_until(busy_running, timeout=60, proc=proc)
        asked = cancel_with_the_cli(url, run_id, "--no-wait")
        assert asked.exit_code == 0, asked.output  # type: ignore[attr-defined]
        proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()

    with opened(url) as store:
        assert store.read_flow_run(run_id).state_name == "Cancelled"
        ran = len(store.read_task_runs(run_id))
    assert 1000 < ran < 20_000_000  # stopped by the request, between the first and last call


def test_runs_cancel_of_an_unknown_run_says_so(sqlite_url: str) -> None:
    result = cancel_with_the_cli(sqlite_url, "0123abcd")

    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "No flow run has the id '0123abcd'" in result.output  # type: ignore[attr-defined]


def test_runs_cancel_waits_until_the_run_is_cancelled_and_says_so(
    sqlite_url: str, tmp_path: Path
) -> None:
    release, hook_marker = tmp_path / "release", tmp_path / "hook"
    proc = start(FLOW, sqlite_url, str(release), str(hook_marker))
    answers: list[object] = []
    try:
        def running() -> str | None:
            with opened(sqlite_url) as store:
                runs = store.read_flow_runs(FlowRunFilter(limit=1))
                return str(runs[0].id) if runs and runs[0].state_name == "Running" else None

        run_id = wait_until(running, timeout=60, proc=proc)
        asking = threading.Thread(target=lambda: answers.append(
            cancel_with_the_cli(sqlite_url, run_id, "--timeout", "60")))
        asking.start()

        def noticed() -> bool:
            with opened(sqlite_url) as store:
                return store.read_flow_run(run_id).state_name == "Cancelling"

        wait_until(noticed, timeout=60, proc=proc)
        release.touch()
        asking.join(60)
        proc.wait(timeout=60)
    finally:
        release.touch()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()

    result = answers[0]
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "s after the request)" in result.output  # type: ignore[attr-defined]
    assert "is Cancelled (" in result.output  # type: ignore[attr-defined]


def test_the_cancel_command_explains_itself() -> None:
    result = CliRunner().invoke(cli, ["runs", "cancel", "--help"])

    assert result.exit_code == 0
    assert "a task run already running finishes its" in " ".join(result.output.split())
