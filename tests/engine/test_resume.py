"""The resume decisions: per call identity, what an attempt does with what earlier ones did."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from uuid import uuid4

import pytest

from headwater.engine.resume import RERUN, PriorCall, ResumePlan, comparable, plan_from_views
from headwater.events._json import encode_json


def plan(tasks: dict[str, PriorCall], subflows: dict | None = None) -> ResumePlan:  # type: ignore[type-arg]
    return ResumePlan(uuid4(), "brave-otter", 1, tasks, subflows or {})


def test_a_call_that_completed_with_the_same_parameters_takes_its_earlier_run() -> None:
    earlier = uuid4()
    p = plan({"add-1a2b#1": PriorCall('{"x": 1}', earlier)})

    assert p.decide("add-1a2b#1", '{"x": 1}') == earlier


def test_a_call_that_did_not_complete_before_runs() -> None:
    p = plan({"add-1a2b#3": PriorCall('{"x": 3}', None)})

    assert p.decide("add-1a2b#3", '{"x": 3}') is None


def test_a_call_earlier_attempts_never_made_runs() -> None:
    p = plan({"add-1a2b#1": PriorCall('{"x": 1}', uuid4())})

    assert p.decide("add-1a2b#2", '{"x": 2}') is None


def test_other_parameters_at_a_known_identity_stop_resuming_for_every_later_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    p = plan({"add#1": PriorCall('{"x": 1}', uuid4()), "add#2": PriorCall('{"x": 2}', uuid4())})
    p.logger = logging.getLogger("test-resume")

    with caplog.at_level(logging.WARNING, "test-resume"):
        first = p.decide("add#1", '{"x": 5}')
        second = p.decide("add#2", '{"x": 2}')  # would match, but resuming stopped

    assert (first, second) == (RERUN, RERUN)
    assert p.stopped_at == "add#1"
    assert [r.getMessage() for r in caplog.records] == [
        "Resuming stopped at add#1: it was called with other parameters in the earlier "
        "attempt, so the flow took another path. It and every call after it run again."
    ]


def test_memory_addresses_in_stored_reprs_do_not_count_as_other_parameters() -> None:
    assert comparable('{"o": "<Thing object at 0x7f3a2c1d>"}') == comparable(
        '{"o": "<Thing object at 0x55aa01>"}')


def test_a_subflow_resumes_with_its_own_plan_unless_its_parameters_changed() -> None:
    child = plan({})
    p = plan({}, {"child#1": ('{"n": 2}', child)})

    assert p.subflow("child#1", '{"n": 2}') is child
    assert p.subflow("child#2", '{"n": 2}') is None
    assert p.subflow("child#1", '{"n": 3}') is None and p.stopped_at == "child#1"


def test_a_plan_from_stored_runs_keeps_each_identitys_last_completed_run() -> None:
    flow_run = SimpleNamespace(id=uuid4(), name="brave-otter", run_count=2)
    failed, completed, resumed = uuid4(), uuid4(), uuid4()

    def view(id: object, identity: str | None, state: str, x: int) -> SimpleNamespace:
        return SimpleNamespace(id=id, identity=identity, state_type=state, parameters={"x": x})

    p = plan_from_views(flow_run, [
        view(failed, "t#1", "FAILED", 1), view(completed, "t#1", "COMPLETED", 1),
        view(uuid4(), "t#2", "CRASHED", 2), view(resumed, "t#3", "COMPLETED", 3),
        view(uuid4(), None, "COMPLETED", 9),  # recorded before identities: ignored
    ], [], encode_json)

    assert p.tasks == {"t#1": PriorCall('{"x": 1}', completed), "t#2": PriorCall('{"x": 2}', None),
                       "t#3": PriorCall('{"x": 3}', resumed)}
    assert (p.completed, p.run_count, p.name) == (2, 2, "brave-otter")


def test_identities_count_calls_per_task_and_start_again_when_the_flow_retries(
    events: object,
) -> None:
    from headwater import flow, task
    from headwater.events.records import FlowRunCreated, TaskRunCreated

    attempts: list[int] = []

    @task
    def fetch(i: int) -> int:
        return i

    @task
    def other(i: int) -> int:
        return i

    @flow
    def child() -> int:
        return fetch(0)

    @flow(retries=1)
    def parent() -> None:
        attempts.append(1)
        fetch(1)
        other(1)
        fetch.map([2, 3])
        child()
        if len(attempts) == 1:
            raise ValueError("first attempt fails")

    parent()

    calls = [(r.task_name, str(r.call)) for r in events.of_type(TaskRunCreated)]  # type: ignore[attr-defined]
    # (mapped elements start in worker threads: within an attempt, records come in any order)
    once = sorted([("fetch", "1"), ("other", "1"), ("fetch", "2.0"), ("fetch", "2.1"),
                   ("fetch", "1")])  # the last: the subflow's own first call of fetch
    assert (sorted(calls[:5]), sorted(calls[5:])) == (once, once)
    subflows = [r.identity for r in events.of_type(FlowRunCreated)]  # type: ignore[attr-defined]
    assert subflows == [None, "child#1", "child#1"]
