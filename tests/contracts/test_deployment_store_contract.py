"""The `RunStore` contract for deployments and their runs: memory, SQLite and PostgreSQL behave
the same. Times are plain numbers the tests choose (the store never reads the clock here)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest

from headwater.core.states import Running
from headwater.errors import DeploymentNotFoundError
from headwater.events.records import StateChanged, TaskRunCreated
from headwater.store import FlowRunFilter, RunStore
from headwater.store.deployments import DeploymentSpec, NewDeploymentRun
from tests.contracts.test_run_store_contract import IMPLEMENTATIONS, write

T0 = 1_800_000_000.0


@pytest.fixture(params=IMPLEMENTATIONS, ids=lambda f: f.__name__.strip("_"))
def store(request: pytest.FixtureRequest) -> Iterator[RunStore]:
    made = request.param(request)
    yield made
    made.close()


def spec(name: str = "nightly", flow: str = "etl", **changes: object) -> DeploymentSpec:
    values: dict[str, object] = {
        "id": str(uuid4()), "name": name, "flow_name": flow, "entrypoint": "/srv/etl.py:etl",
        "working_dir": "/srv", "schedules": ({"interval": 60.0},), "parameters": {"n": 1},
        "tags": ("nightly",), "description": "Loads things.", "version": "1",
    }
    values.update(changes)
    return DeploymentSpec(**values)  # type: ignore[arg-type]


def tick_run(tick: float, **parameters: object) -> NewDeploymentRun:
    return NewDeploymentRun(str(uuid4()), f"run-{int(tick)}", tick, tick,
                            dict(parameters) or {"n": 1})


def on_demand(when: float) -> NewDeploymentRun:
    return NewDeploymentRun(str(uuid4()), "asked", when, None, {"n": 2})


def claim(store: RunStore, deployment_id: UUID, now: float, *, by: str = "a",
          limit: int | None = None, catchup: float = 60.0, prefetch: float = 0.0) -> list[UUID]:
    result = store.claim_deployment_runs([deployment_id], due_before=now + prefetch, now=now,
                                         claimed_by=by, limit=limit, catchup_seconds=catchup)
    return [run.flow_run_id for run in result.claimed]


def test_registering_creates_a_deployment_known_by_flow_and_name(store: RunStore) -> None:
    view = store.register_deployment(spec(), now=T0)

    assert (view.full_name, view.entrypoint, view.parameters) == ("etl/nightly", "/srv/etl.py:etl",
                                                                  {"n": 1})
    assert (view.paused, view.schedule_from, view.last_tick) == (False, T0, None)
    assert store.read_deployment("etl/nightly") == view
    assert store.read_deployment(str(view.id)) == view
    assert store.read_deployment("nightly") == view  # a bare name, unique
    assert store.read_deployments() == [view]


def test_registering_again_updates_it_and_keeps_its_id_creation_and_pause(
    store: RunStore,
) -> None:
    first = store.register_deployment(spec(paused=True), now=T0)
    again = store.register_deployment(spec(parameters={"n": 5}, paused=None), now=T0 + 10)

    assert (again.id, again.created, again.paused) == (first.id, T0, True)
    assert (again.parameters, again.updated) == ({"n": 5}, T0 + 10)


def test_an_unknown_deployment_name_lists_the_known_ones(store: RunStore) -> None:
    store.register_deployment(spec(), now=T0)

    with pytest.raises(DeploymentNotFoundError, match=r"'etl/nightyl'.*'etl/nightly'"):
        store.read_deployment("etl/nightyl")


def test_a_tick_made_twice_is_one_run_visible_as_scheduled(store: RunStore) -> None:
    view = store.register_deployment(spec(), now=T0)

    made = store.create_deployment_runs(view.id, [tick_run(T0 + 60)], now=T0)
    again = store.create_deployment_runs(view.id, [tick_run(T0 + 60), tick_run(T0 + 120)],
                                         now=T0 + 1)

    assert len(made) == 1 and len(again) == 1  # only T0 + 120 was new
    runs = store.read_flow_runs(FlowRunFilter(limit=None))
    assert sorted(r.state_name or "" for r in runs) == ["Scheduled", "Scheduled"]
    assert {r.flow_name for r in runs} == {"etl"} and runs[0].tags == ("nightly",)
    assert [s.name for s in store.read_states(made[0])] == ["Scheduled"]
    assert store.read_deployment(view.id).last_tick == T0 + 120
    waiting = store.read_deployment_runs([view.id])
    assert [r.tick for r in waiting] == [T0 + 60, T0 + 120]


def test_a_paused_deployment_gets_runs_on_demand_but_no_ticks(store: RunStore) -> None:
    view = store.register_deployment(spec(paused=True), now=T0)

    made = store.create_deployment_runs(view.id, [tick_run(T0 + 60), on_demand(T0)], now=T0)

    assert len(made) == 1
    assert [r.tick for r in store.read_deployment_runs([view.id])] == [None]
    assert claim(store, view.id, T0) == made


def test_each_due_run_is_claimed_once_and_becomes_pending(store: RunStore) -> None:
    view = store.register_deployment(spec(), now=T0)
    made = store.create_deployment_runs(view.id, [tick_run(T0 + 60), tick_run(T0 + 120)],
                                        now=T0)

    assert claim(store, view.id, T0 + 30) == []  # nothing due yet
    assert claim(store, view.id, T0 + 60, by="a") == made[:1]
    assert claim(store, view.id, T0 + 60, by="b") == []
    assert claim(store, view.id, T0 + 100, by="b", prefetch=30) == made[1:]

    first = store.read_flow_run(made[0])
    assert (first.state_name, first.heartbeat) == ("Pending", T0 + 60)
    assert [s.name for s in store.read_states(made[0])] == ["Scheduled", "Pending"]
    claimed = store.read_deployment_runs([view.id], statuses=("claimed",))
    assert [(r.claimed_by, r.parameters) for r in claimed] == [("a", {"n": 1}), ("b", {"n": 1})]


def test_claims_stop_at_the_limit(store: RunStore) -> None:
    view = store.register_deployment(spec(), now=T0)
    made = store.create_deployment_runs(view.id, [tick_run(T0 + i) for i in (1, 2, 3)], now=T0)

    assert claim(store, view.id, T0 + 5, limit=2) == made[:2]
    assert claim(store, view.id, T0 + 5, limit=0) == []
    assert claim(store, view.id, T0 + 5) == made[2:]


def test_a_concurrency_limit_counts_unfinished_runs_of_every_claimer(store: RunStore) -> None:
    view = store.register_deployment(spec(concurrency_limit=1), now=T0)
    made = store.create_deployment_runs(view.id, [tick_run(T0 + 1), tick_run(T0 + 2)], now=T0)

    assert claim(store, view.id, T0 + 5, by="a") == made[:1]
    assert claim(store, view.id, T0 + 5, by="b") == []  # the first is still Pending
    store.end_flow_run(made[0], state_type="COMPLETED", state_name="Completed", message="",
                       now=T0 + 6)
    assert claim(store, view.id, T0 + 7, by="b") == made[1:]


def test_late_ticks_with_a_later_tick_due_are_missed_and_never_run(store: RunStore) -> None:
    # Given ticks made ahead, then nobody served the deployment for ten minutes
    view = store.register_deployment(spec(), now=T0)
    made = store.create_deployment_runs(view.id, [tick_run(T0 + 60 * i) for i in (1, 2, 3)],
                                        now=T0)
    latest = store.create_deployment_runs(view.id, [tick_run(T0 + 600)], now=T0 + 600)

    # When a serve process claims with a catch-up window of 100 s
    result = store.claim_deployment_runs([view.id], due_before=T0 + 600, now=T0 + 600,
                                         claimed_by="a", limit=None, catchup_seconds=100)

    # Then only the latest tick runs; the others end Cancelled, named Missed
    assert [r.flow_run_id for r in result.claimed] == latest
    assert sorted(result.missed) == sorted(made)
    missed = store.read_flow_run(made[0])
    assert (missed.state_type, missed.state_name) == ("CANCELLED", "Missed")
    assert "catch-up window 100 s" in (missed.state_message or "")


def test_late_ticks_within_the_catch_up_window_still_run(store: RunStore) -> None:
    view = store.register_deployment(spec(), now=T0)
    made = store.create_deployment_runs(view.id, [tick_run(T0 + 10), tick_run(T0 + 20)], now=T0)

    assert claim(store, view.id, T0 + 25, catchup=60) == made


def test_a_run_cancelled_before_any_claim_ends_cancelled_at_once(store: RunStore) -> None:
    view = store.register_deployment(spec(), now=T0)
    [run_id] = store.create_deployment_runs(view.id, [tick_run(T0 + 60)], now=T0)

    store.request_cancel(run_id, requested_by="test", now=T0 + 1)

    run = store.read_flow_run(run_id)
    assert (run.state_type, run.state_name) == ("CANCELLED", "Cancelled")
    assert claim(store, view.id, T0 + 60) == []
    assert store.read_deployment_runs([view.id]) == []


def test_ending_a_run_ends_its_unfinished_task_runs_once(store: RunStore) -> None:
    view = store.register_deployment(spec(), now=T0)
    [run_id] = store.create_deployment_runs(view.id, [on_demand(T0)], now=T0)
    claim(store, view.id, T0)
    task_id = uuid4()
    write(store, StateChanged(run_id, "flow", Running(), 1),
          TaskRunCreated(task_id, "add-1", "add", "m.add", run_id, {}, frozenset(), T0))

    assert store.end_flow_run(run_id, state_type="CANCELLED", state_name="Cancelled",
                              message="killed", now=T0 + 5)
    assert not store.end_flow_run(run_id, state_type="CRASHED", state_name="Crashed",
                                  message="again", now=T0 + 6)

    run = store.read_flow_run(run_id)
    assert (run.state_name, run.state_message, run.end_time) == ("Cancelled", "killed", T0 + 5)
    assert [t.state_name for t in store.read_task_runs(run_id)] == ["Cancelled"]
    assert [s.name for s in store.read_states(run_id)] == ["Scheduled", "Pending", "Running",
                                                             "Cancelled"]


def test_runs_waiting_for_their_time_are_never_marked_crashed(store: RunStore) -> None:
    view = store.register_deployment(spec(), now=T0)
    waiting, claimed = store.create_deployment_runs(
        view.id, [tick_run(T0 + 10), tick_run(T0 + 5000)], now=T0)[::-1]
    assert claim(store, view.id, T0 + 10) == [claimed]

    crashed = store.mark_crashed(heartbeat_before=T0 + 1000, now=T0 + 1000)

    assert crashed == [claimed]  # claimed, then silent: its serve process died
    assert store.read_flow_run(waiting).state_name == "Scheduled"


def test_pausing_deletes_waiting_ticks_and_resuming_starts_from_now(store: RunStore) -> None:
    view = store.register_deployment(spec(), now=T0)
    store.create_deployment_runs(view.id, [tick_run(T0 + 60), on_demand(T0 + 1)], now=T0)

    paused = store.set_deployment_paused("etl/nightly", True, now=T0 + 2)
    assert paused.paused
    assert [r.tick for r in store.read_deployment_runs([view.id])] == [None]
    assert len(store.read_flow_runs(FlowRunFilter(limit=None))) == 1

    resumed = store.set_deployment_paused("etl/nightly", False, now=T0 + 300)
    assert (resumed.paused, resumed.schedule_from) == (False, T0 + 300)


def test_new_schedules_replace_the_waiting_runs_of_the_old_ones(store: RunStore) -> None:
    view = store.register_deployment(spec(), now=T0)
    store.create_deployment_runs(view.id, [tick_run(T0 + 60)], now=T0)

    again = store.register_deployment(spec(schedules=({"cron": "0 * * * *"},)), now=T0 + 5)

    assert (again.schedule_from, again.last_tick) == (T0 + 5, None)
    assert store.read_deployment_runs([view.id]) == []


def test_deleting_keeps_history_and_cancels_runs_asked_for(store: RunStore) -> None:
    view = store.register_deployment(spec(), now=T0)
    _tick, asked = store.create_deployment_runs(view.id, [tick_run(T0 + 60), on_demand(T0)],
                                               now=T0)

    deleted = store.delete_deployment("etl/nightly", now=T0 + 1)

    assert deleted.id == view.id and store.read_deployments() == []
    assert store.read_flow_run(asked).state_name == "Cancelled"
    assert [r.id for r in store.read_flow_runs(FlowRunFilter(limit=None))] == [asked]
    with pytest.raises(DeploymentNotFoundError):
        store.read_deployment("etl/nightly")


def test_serve_processes_say_they_are_alive(store: RunStore) -> None:
    view = store.register_deployment(spec(), now=T0)

    store.touch_deployments([view.id], now=T0 + 3, served_by="host:42")

    again = store.read_deployment(view.id)
    assert (again.last_served, again.served_by) == (T0 + 3, "host:42")


def test_concurrent_claimers_never_take_a_run_twice(store: RunStore) -> None:
    # Given 60 due runs, and eight threads claiming two at a time (each with its own store
    # object for the SQL stores, as separate processes would have)
    view = store.register_deployment(spec(), now=T0)
    made = store.create_deployment_runs(view.id, [tick_run(T0 + i) for i in range(60)], now=T0)
    taken: dict[str, list[UUID]] = {}

    def claimer(name: str) -> None:
        own = store if store.url == "memory://" else type(store)(store.url)  # type: ignore[call-arg]
        mine = taken.setdefault(name, [])
        try:
            while True:
                got = claim(own, view.id, T0 + 100, by=name, limit=2, catchup=1e9)
                if not got:
                    return
                mine.extend(got)
                time.sleep(0.001)
        finally:
            if own is not store:
                own.close()

    threads = [threading.Thread(target=claimer, args=(f"c{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Then every run was claimed exactly once
    everything = [run for runs in taken.values() for run in runs]
    assert sorted(everything) == sorted(made)
    claimed = store.read_deployment_runs([view.id], statuses=("claimed",), limit=None)
    assert {r.flow_run_id: r.claimed_by for r in claimed} == {
        run: name for name, runs in taken.items() for run in runs}
