"""Subflows given futures: they wait for them, and do not start if an upstream failed."""

from __future__ import annotations

import pytest

from headwater import flow, task
from headwater.errors import UnfinishedRun
from headwater.events.memory import MemorySink


@task
def produce(x: int) -> int:
    return x * 10


@task
def explode() -> int:
    raise KeyError("upstream")


@flow
def child(value: int) -> int:
    return value + 1


def test_a_subflow_receives_the_result_of_a_future_argument(events: MemorySink) -> None:
    @flow
    def parent() -> int:
        return child(produce.submit(4))

    assert parent() == 41


def test_a_subflow_waits_for_its_wait_for_futures(events: MemorySink) -> None:
    order: list[str] = []

    @task
    def first() -> None:
        order.append("task")

    @flow
    def second() -> None:
        order.append("subflow")

    @flow
    def parent() -> None:
        done = first.submit()
        second(wait_for=[done])

    parent()
    assert order == ["task", "subflow"]


def test_a_subflow_whose_upstream_failed_is_not_ready_and_a_plain_call_raises(
    events: MemorySink,
) -> None:
    ran = []

    @flow
    def never() -> None:
        ran.append(1)

    @flow
    def parent() -> str:
        bad = explode.submit()
        state = never(wait_for=[bad], return_state=True)
        with pytest.raises(UnfinishedRun, match="PENDING"):
            never(wait_for=[bad])
        return state.name

    assert parent() == "NotReady"
    assert ran == []
    children = [r for r in events.flow_runs() if r.flow_name == "never"]
    assert len(children) == 2
    assert all(events.state_names(c.flow_run_id) == ["Pending", "NotReady"] for c in children)


def test_a_future_argument_is_validated_after_it_resolves(events: MemorySink) -> None:
    @task
    def text_number() -> str:
        return "7"

    @flow
    def parent() -> int:
        return child(text_number.submit())  # "7" coerces to 7 by the int hint

    assert parent() == 8
