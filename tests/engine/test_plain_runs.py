"""Runs that use no optional feature take a straight-line path (`run_plain`): it must record
exactly what the general run logic (`task_run_steps`) records, for every outcome a plain run
can have. Each case runs twice, once with the straight line refused, and the records compare.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from headwater import flow, task
from headwater.core.states import Completed, Failed, State
from headwater.engine import calls, execution, plain_run
from headwater.events.memory import MemorySink
from headwater.events.records import (
    DependencyAdded,
    LogEmitted,
    StateChanged,
    TaskRunCreated,
)
from headwater.testing import capture_events


@task
def returns(x: int) -> int:
    return x + 1


@task
def raises(x: int) -> int:
    raise LookupError(f"no {x}")


@task
def returns_completed(x: int) -> State:
    return Completed(data=x, message="done by hand")


@task
def returns_failed(x: int) -> State:
    return Failed(message=f"refused {x}")


@task
def returns_none(x: int) -> None:
    return None


def run_flow(body: Callable[[], Any]) -> MemorySink:
    @flow
    def pipeline() -> Any:
        return body()

    with capture_events() as events:
        pipeline(return_state=True)
    return events


CASES: dict[str, Callable[[], Any]] = {
    "a value": lambda: returns(1),
    "None": lambda: returns_none(1),
    "an exception": lambda: raises(2),
    "a Completed state": lambda: returns_completed(3),
    "a Failed state": lambda: returns_failed(4),
    "submitted": lambda: returns.submit(5).result(),
    "submitted with an upstream": lambda: returns.submit(returns.submit(6)).result(),
    "mapped": lambda: [f.state.name for f in returns.map([7, 8])],
    "an exception, submitted": lambda: raises.submit(9).wait(),
}


def summary(events: MemorySink) -> list[tuple[Any, ...]]:
    """The task runs' records, without what differs between any two runs (ids, times)."""
    task_ids = {r.task_run_id for r in events.task_runs()}
    names = {r.task_run_id: r.task_name for r in events.task_runs()}
    rows: list[tuple[Any, ...]] = []
    for record in events:
        if isinstance(record, TaskRunCreated):
            rows.append(("created", record.task_name, record.parameters, sorted(record.tags)))
        elif isinstance(record, StateChanged) and record.run_id in task_ids:
            state = record.state
            rows.append(("state", names[record.run_id], state.type.value, state.name,
                         state.message, record.run_count, repr(state.data)[:60]))
        elif isinstance(record, DependencyAdded):
            rows.append(("dependency", names[record.task_run_id], record.parameter))
        elif isinstance(record, LogEmitted) and record.task_run_id in task_ids:
            rows.append(("log", record.level, record.message.splitlines()[0]))
    return sorted(rows, key=repr)  # submitted runs interleave in any order


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("level", ["INFO", "WARNING"])
def test_a_plain_run_records_what_the_general_logic_records(
    case: str, level: str, monkeypatch: pytest.MonkeyPatch,
    logging_at: Callable[[str], None],
) -> None:
    logging_at(level)
    # A materializing task defined by another test module turns lineage on for the process;
    # these runs have no assets, so they take the straight line all the same.
    monkeypatch.setattr(plain_run, "assets_in_use", lambda: False)
    taken: list[bool] = []

    def watched(request: Any) -> bool:
        answer = plain_run.is_plain(request)
        taken.append(answer)
        return answer

    def watched_call(task: Any, settings: Any) -> bool:  # a direct call asks without a request
        answer = plain_run.is_plain_task(task, settings)
        taken.append(answer)
        return answer

    monkeypatch.setattr(execution, "is_plain_task", watched_call)  # asked with `is_plain` inline
    monkeypatch.setattr(calls, "is_plain", watched)
    monkeypatch.setattr(calls, "is_plain_task", watched_call)
    straight = summary(run_flow(CASES[case]))
    assert taken and all(taken)  # the straight line ran every one of them

    monkeypatch.setattr(execution, "is_plain_task", lambda task, settings: False)
    monkeypatch.setattr(calls, "is_plain", lambda request: False)
    monkeypatch.setattr(calls, "is_plain_task", lambda task, settings: False)
    general = summary(run_flow(CASES[case]))

    assert straight == general
    assert any(row[0] == "state" for row in straight)


def test_a_feature_sends_the_run_down_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from headwater.testing import task_run_request

    monkeypatch.setattr(plain_run, "assets_in_use", lambda: False)
    assert plain_run.is_plain(task_run_request(returns, x=1))
    for changed in ({"retries": 1}, {"timeout_seconds": 5}, {"task_run_name": "r-{x}"},
                    {"on_failure": [lambda *a: None]}, {"log_prints": True},
                    {"persist_result": True}, {"retry_condition_fn": lambda *a: True}):
        assert not plain_run.is_plain(task_run_request(returns.with_options(**changed), x=1)), (
            changed
        )
    monkeypatch.setattr(plain_run, "assets_in_use", lambda: True)
    assert not plain_run.is_plain(task_run_request(returns, x=1))
