"""Automatic recovery: a served run that crashes is resumed from where it stopped, by a serve
process, at most `resume_crashed` times; real run processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from headwater.testing import FrozenClock
from tests.deployments.helpers import make_loop, step_until, stop

pytestmark = pytest.mark.timeout(240)

FLOWS = '''
import os
from pathlib import Path
from headwater import flow, task

HERE = Path(__file__).parent

@task
def step(i: int) -> int:
    with open(HERE / "ran.txt", "a") as f:
        f.write(f"{i}\\n")
    return i

@flow
def fragile(always: bool = False) -> int:
    total = step(1) + step(2)
    if always or not (HERE / "crashed-once").exists():
        (HERE / "crashed-once").touch()
        os._exit(3)  # as if the machine went away mid-run
    return total + step(3)
'''


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def deploy(tmp_path: Path, resume_crashed: int) -> Any:
    from headwater.deployments.entrypoints import load_flow

    path = tmp_path / "fragile.py"
    path.write_text(textwrap.dedent(FLOWS))
    return load_flow(f"{path}:fragile").to_deployment("recovering",
                                                      resume_crashed=resume_crashed)


def ask(loop: Any, parameters: dict[str, Any] | None = None) -> Any:
    from headwater.deployments.api import run_deployment

    return run_deployment("fragile/recovering", parameters, scheduled_time=loop.clock.now(),
                          timeout=0, store=loop.store).id


def ran(tmp_path: Path) -> list[str]:
    path = tmp_path / "ran.txt"
    return path.read_text().split() if path.exists() else []


def test_a_crashed_served_run_is_resumed_and_what_completed_does_not_run_again(
    url: str, tmp_path: Path
) -> None:
    loop = make_loop([deploy(tmp_path, resume_crashed=1)], url, FrozenClock(time.time()))
    try:
        run_id = ask(loop)
        step_until(loop, lambda: (run_id, "Completed") in loop.finished)
    finally:
        stop(loop)

    assert [state for rid, state in loop.finished if rid == run_id] == ["Crashed", "Completed"]
    assert ran(tmp_path) == ["1", "2", "3"]  # 1 and 2 took their results in the second attempt
    view = loop.store.read_flow_run(run_id)
    assert (view.state_name, view.run_count, view.result) == ("Completed", 2, "6")
    history = [s.name for s in loop.store.read_states(run_id)]
    assert history[:2] == ["Scheduled", "Pending"]
    assert history[-5:] == ["Crashed", "Pending", "Pending", "Running", "Completed"]
    # Steps 1 and 2 took their results: by identity ("Resumed from task run ..."), or, when
    # the killed process's last records never reached the store, by their cache key (Cached)
    took = [t for t in loop.store.read_task_runs(run_id)
            if t.state_name == "Cached" or (t.state_message or "").startswith("Resumed from")]
    assert len(took) == 2


def test_a_run_that_keeps_crashing_is_resumed_at_most_resume_crashed_times(
    url: str, tmp_path: Path
) -> None:
    loop = make_loop([deploy(tmp_path, resume_crashed=1)], url, FrozenClock(time.time()))
    try:
        run_id = ask(loop, {"always": True})
        step_until(loop, lambda: [s for r, s in loop.finished if r == run_id] == ["Crashed"] * 2)
        for _ in range(10):  # and nothing more happens to it
            loop.step()
    finally:
        stop(loop)

    assert [state for rid, state in loop.finished if rid == run_id] == ["Crashed", "Crashed"]
    assert loop.store.read_flow_run(run_id).state_name == "Crashed"
    assert ran(tmp_path) == ["1", "2"]  # the second attempt took both results


def test_without_resume_crashed_a_crashed_run_stays_crashed(url: str, tmp_path: Path) -> None:
    loop = make_loop([deploy(tmp_path, resume_crashed=0)], url, FrozenClock(time.time()))
    try:
        run_id = ask(loop)
        step_until(loop, lambda: run_id in dict(loop.finished))
        for _ in range(10):
            loop.step()
    finally:
        stop(loop)

    assert loop.finished == [(run_id, "Crashed")]
    assert ran(tmp_path) == ["1", "2"]


def test_resume_crashed_must_be_a_whole_number_of_times(tmp_path: Path) -> None:
    from headwater.errors import DeploymentError

    with pytest.raises(DeploymentError, match=r"resume_crashed must be a whole number of "
                                              r"times >= 0, got -1"):
        deploy(tmp_path, resume_crashed=-1)


def test_a_run_whose_serve_process_was_lost_is_resumed_by_another_serve_process(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER_HEARTBEAT_SECONDS", "0.5")
    monkeypatch.setenv("HEADWATER_CRASH_AFTER_SECONDS", "1")
    clock = FrozenClock(time.time())
    deployment = deploy(tmp_path, resume_crashed=1)
    # Given a serve process that claimed a run, whose process then died mid-run, and which
    # itself never looks again (as if its machine was lost)
    lost = make_loop([deployment], url, clock)
    run_id = ask(lost)
    step_until(lost, lambda: run_id in lost.children)
    lost.children[run_id].process.wait(timeout=60)
    # When another serve process serves the deployment
    other = make_loop([deployment], url, clock, crash_check_seconds=0.1)
    try:
        step_until(other, lambda: (run_id, "Completed") in other.finished)
    finally:
        stop(other)
        stop(lost)

    # Then it marked the silent run Crashed, resumed it, and nothing that completed ran twice
    assert ran(tmp_path) == ["1", "2", "3"]
    view = other.store.read_flow_run(run_id)
    assert (view.state_name, view.result) == ("Completed", "6")
    assert "Crashed" in [s.name for s in other.store.read_states(run_id)]
