"""The serve loop, one pass at a time, on a clock the test moves: ticks made ahead, due runs
started in real subprocesses under their scheduled ids, the catch-up policy, limits, crashes
and cancellation. Assertions are on runs and states, never on how long anything took."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from headwater.cancellation import cancel_flow_run
from headwater.store import FlowRunFilter
from headwater.testing import FrozenClock
from tests.deployments.helpers import load_ticker, make_loop, ran, step_until, stop

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def states(loop: Any, run_id: Any) -> list[str]:
    return [s.name for s in loop.store.read_states(run_id)]


def finished(loop: Any) -> dict[Any, str | None]:
    return dict(loop.finished)


def ask(loop: Any, name: str, parameters: dict[str, Any] | None = None) -> Any:
    """A run on demand, due now on the loop's clock; returns its flow run id."""
    from headwater.deployments.api import run_deployment

    return run_deployment(name, parameters, scheduled_time=loop.clock.now(), timeout=0,
                          store=loop.store).id


def test_a_due_tick_runs_in_a_subprocess_under_the_id_it_was_scheduled_with(
    url: str, tmp_path: Path
) -> None:
    # Given a deployment every 10 s, served on a clock that starts now
    clock = FrozenClock(time.time())
    deployment = load_ticker(tmp_path).to_deployment("every-10s", interval=10,
                                                     parameters={"label": "tick"})
    loop = make_loop([deployment], url, clock)
    try:
        # When the loop passes once: the next three ticks are Scheduled runs, shown in runs ls
        loop.step()
        loop.step()
        waiting = loop.store.read_deployment_runs(list(loop.views))
        assert len(waiting) == 3
        ticks = [run.tick for run in waiting]
        assert ticks == [ticks[0], ticks[0] + 10, ticks[0] + 20]
        listed = loop.store.read_flow_runs(FlowRunFilter(state="scheduled"))
        assert {r.id for r in listed} == {r.flow_run_id for r in waiting}

        # And when the clock reaches the first tick
        clock.advance(waiting[0].scheduled_time - clock.now())
        first = waiting[0].flow_run_id
        step_until(loop, lambda: first in finished(loop))
    finally:
        stop(loop)

    # Then that very flow run ran, once, in its own process, and a fourth tick was scheduled
    assert ran(tmp_path) == {str(first): "tick"}
    assert finished(loop)[first] == "Completed"
    assert states(loop, first) == ["Scheduled", "Pending", "Running", "Completed"]
    run = loop.store.read_flow_run(first)
    assert (run.flow_name, run.parameters, run.result) == ("ticker", {"label": "tick"}, '"tick"')
    later = [r.tick for r in loop.store.read_deployment_runs(list(loop.views))]
    assert later == [ticks[1], ticks[2], ticks[2] + 10]


def test_after_downtime_only_recent_ticks_and_the_latest_run(sqlite_url: str,
                                                             tmp_path: Path) -> None:
    # Given three ticks made ahead, then no serve process for 1,000 s
    clock = FrozenClock(time.time())
    deployment = load_ticker(tmp_path).to_deployment("every-10s", interval=10)
    loop = make_loop([deployment], sqlite_url, clock, catchup_seconds=25)
    try:
        loop.step()
        ahead = loop.store.read_deployment_runs(list(loop.views))
        clock.advance(1000.5)

        # When a serve process with a 25 s catch-up window passes
        step_until(loop, lambda: len(loop.finished) == 3)
    finally:
        stop(loop)

    # Then the ticks made ahead were missed, and only ticks of the last 25 s ran
    for run in ahead:
        view = loop.store.read_flow_run(run.flow_run_id)
        assert (view.state_type, view.state_name) == ("CANCELLED", "Missed")
    claimed = loop.store.read_deployment_runs(list(loop.views), statuses=("claimed",))
    assert len(claimed) == 3
    assert all(clock.now() - 25 <= (r.tick or 0) <= clock.now() for r in claimed)
    assert set(ran(tmp_path)) == {str(r.flow_run_id) for r in claimed}
    assert set(finished(loop).values()) == {"Completed"}


def test_limit_bounds_the_runs_running_at_once(sqlite_url: str, tmp_path: Path) -> None:
    clock = FrozenClock(time.time())
    deployment = load_ticker(tmp_path).to_deployment("blocking", parameters={"mode": "block"})
    loop = make_loop([deployment], sqlite_url, clock, limit=1)
    try:
        asked = [ask(loop, "ticker/blocking") for _ in range(2)]
        step_until(loop, lambda: len(ran(tmp_path)) == 1)
        for _ in range(5):
            loop.step()
        assert len(loop.children) == 1
        assert len(loop.store.read_deployment_runs(list(loop.views))) == 1  # still waiting

        (tmp_path / "release").touch()
        step_until(loop, lambda: len(loop.finished) == 2)
    finally:
        stop(loop)
    assert [finished(loop)[run_id] for run_id in asked] == ["Completed", "Completed"]


def test_a_flow_that_kills_its_process_ends_crashed_and_the_loop_goes_on(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = FrozenClock(time.time())
    deployment = load_ticker(tmp_path).to_deployment("crashy")
    loop = make_loop([deployment], sqlite_url, clock)
    try:
        crashed = ask(loop, "crashy", {"mode": "crash"})
        step_until(loop, lambda: crashed in finished(loop))
        fine = ask(loop, "crashy")
        step_until(loop, lambda: fine in finished(loop))
    finally:
        stop(loop)

    run = loop.store.read_flow_run(crashed)
    assert (run.state_name, run.state_message) == (
        "Crashed", "The process running this flow run exited with code 3 before the run ended.")
    # (Running may or may not have reached the store before the process died)
    history = states(loop, crashed)
    assert history[:2] == ["Scheduled", "Pending"] and history[-1] == "Crashed"
    assert finished(loop)[fine] == "Completed"


def test_a_cancel_request_stops_a_served_run_between_task_runs(url: str, tmp_path: Path) -> None:
    clock = FrozenClock(time.time())
    deployment = load_ticker(tmp_path).to_deployment("steps", parameters={"mode": "steps"})
    loop = make_loop([deployment], url, clock)
    try:
        run_id = ask(loop, "steps")
        step_until(loop, lambda: loop.store.read_flow_run(run_id).state_name == "Running")
        cancel_flow_run(run_id, store=loop.store, requested_by="test")
        step_until(loop, lambda: run_id in finished(loop))
    finally:
        stop(loop)

    run = loop.store.read_flow_run(run_id)
    assert (run.state_name, run.state_message) == ("Cancelled",
                                                   "Flow run was cancelled while it ran.")
    assert loop.finished == [(run_id, "Cancelled")]
    tasks = loop.store.read_task_runs(run_id)
    assert 0 < len(tasks) < 3000 and tasks[-1].state_name == "Cancelled"


def test_a_run_that_ignores_a_cancel_request_is_killed_after_the_grace_period(
    url: str, tmp_path: Path
) -> None:
    clock = FrozenClock(time.time())
    deployment = load_ticker(tmp_path).to_deployment("stuck", parameters={"mode": "block"})
    loop = make_loop([deployment], url, clock, cancel_grace_seconds=0.5)
    try:
        run_id = ask(loop, "stuck")
        step_until(loop, lambda: loop.store.read_flow_run(run_id).state_name == "Running")
        cancel_flow_run(run_id, store=loop.store, requested_by="test")
        step_until(loop, lambda: run_id in finished(loop))
    finally:
        (tmp_path / "release").touch()
        stop(loop)

    run = loop.store.read_flow_run(run_id)
    assert run.state_name == "Cancelled"
    assert "did not stop within 0.5 s of the cancel request" in (run.state_message or "")
    assert states(loop, run_id)[:3] == ["Scheduled", "Pending", "Running"]


def test_cancelling_a_run_waiting_for_its_time_stops_it_before_the_flow_starts(
    sqlite_url: str, tmp_path: Path
) -> None:
    # Given a run claimed early (prefetch), whose process waits for the run's time
    clock = FrozenClock(time.time())
    deployment = load_ticker(tmp_path).to_deployment("later", interval=3600)
    loop = make_loop([deployment], sqlite_url, clock, prefetch_seconds=5000)
    try:
        step_until(loop, lambda: loop.children)
        [run_id] = list(loop.children)
        # When it is cancelled
        cancel_flow_run(run_id, store=loop.store, requested_by="test")
        step_until(loop, lambda: run_id in finished(loop))
    finally:
        stop(loop)

    # Then its process was stopped before the flow ran
    assert ran(tmp_path) == {}
    run = loop.store.read_flow_run(run_id)
    assert (run.state_name, run.state_message) == ("Cancelled", "Cancelled before it started.")


def test_runs_claimed_by_a_serve_process_that_died_are_marked_crashed(
    sqlite_url: str, tmp_path: Path
) -> None:
    from headwater.store.deployments import NewDeploymentRun

    # Given a run claimed two minutes ago by a serve process that is gone
    clock = FrozenClock(time.time())
    deployment = load_ticker(tmp_path).to_deployment("orphan")
    loop = make_loop([deployment], sqlite_url, clock, crash_check_seconds=0)
    [view] = loop.views.values()
    then = time.time() - 120
    [orphan] = loop.store.create_deployment_runs(
        view.id, [NewDeploymentRun("01a00000-0000-7000-8000-000000000001", "orphan", then, None,
                                   {})], now=then)
    loop.store.claim_deployment_runs([view.id], due_before=then, now=then, claimed_by="gone",
                                     limit=None, catchup_seconds=60)
    try:
        # When a serve process passes
        loop.step()
    finally:
        stop(loop)

    # Then the run is Crashed, and nobody ran it again
    assert loop.store.read_flow_run(orphan).state_name == "Crashed"
    assert ran(tmp_path) == {}


def test_a_deleted_deployment_is_no_longer_served(sqlite_url: str, tmp_path: Path) -> None:
    clock = FrozenClock(time.time())
    deployment = load_ticker(tmp_path).to_deployment("gone-soon", interval=10)
    loop = make_loop([deployment], sqlite_url, clock)
    try:
        loop.step()
        loop.store.delete_deployment("gone-soon", now=time.time())
        clock.advance(100)
        for _ in range(3):
            loop.step()
    finally:
        stop(loop)
    assert loop.views == {} and loop.children == {} and ran(tmp_path) == {}


def test_a_run_whose_flow_cannot_be_loaded_ends_failed_saying_why(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = FrozenClock(time.time())
    deployment = load_ticker(tmp_path).to_deployment("moved")
    loop = make_loop([deployment], sqlite_url, clock)
    (tmp_path / "flows.py").unlink()  # the file was moved after the deployment was registered
    try:
        run_id = ask(loop, "moved")
        step_until(loop, lambda: run_id in finished(loop))
    finally:
        stop(loop)

    run = loop.store.read_flow_run(run_id)
    assert run.state_name == "Failed"
    assert "Could not load the flow" in (run.state_message or "")
    assert "FlowFileNotFoundError" in (run.state_message or "")
