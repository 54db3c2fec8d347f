"""Subflow calls that use no optional feature take a straight line (`run_plain_subflow`): it
must record exactly what the general flow logic (`flow_run_steps`) records, for every outcome a
plain subflow can have. Each case runs twice, once with the straight line refused, and the
records compare.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from headwater import flow, task
from headwater.core.states import Completed, Failed, State
from headwater.engine import calls, plain_flow
from headwater.events.memory import MemorySink
from headwater.events.records import FlowRunCreated, LogEmitted, StateChanged, TaskRunCreated
from headwater.testing import capture_events


@task
def double(x: int) -> int:
    return 2 * x


@flow
def returns(x: int) -> int:
    return x + 1


@flow
def raises(x: int) -> int:
    raise LookupError(f"no {x}")


@flow
def returns_failed(x: int) -> State:
    return Failed(message=f"refused {x}")


@flow
def returns_completed(x: int) -> State:
    return Completed(data=x, message="done by hand")


@flow
def submits(x: int) -> list[int]:
    return [f.result() for f in double.map([x, x + 1])] + [double(x)]


@flow
def returns_futures(x: int) -> Any:
    return double.submit(x)


@flow
def nests(x: int) -> int:
    return returns(x) + returns(x + 1)


@flow
def interrupted(x: int) -> int:
    raise KeyboardInterrupt


CASES: dict[str, Callable[[], Any]] = {
    "a value": lambda: returns(1),
    "a coerced parameter": lambda: returns("2"),
    "a parameter that fails validation": lambda: returns(x="not a number", return_state=True),
    "an exception": lambda: raises(3, return_state=True),
    "a Failed state": lambda: returns_failed(4, return_state=True),
    "a Completed state": lambda: returns_completed(5),
    "task runs inside": lambda: submits(6),
    "a future returned": lambda: returns_futures(7, return_state=True).name,
    "subflows inside": lambda: nests(8),
    "called from a task": lambda: calls_a_subflow(9),
}


@task
def calls_a_subflow(x: int) -> int:
    return returns(x)


def run_flow(body: Callable[[], Any]) -> tuple[Any, MemorySink]:
    @flow
    def pipeline() -> Any:
        return body()

    with capture_events() as events:
        state = pipeline(return_state=True)
    return state.result(raise_on_failure=False), events


def summary(events: MemorySink) -> list[tuple[Any, ...]]:
    """The records, without what differs between any two runs (ids, names, times)."""
    flows = {r.flow_run_id: r.flow_name for r in events.flow_runs()}
    tasks = {r.task_run_id: r.task_name for r in events.task_runs()}
    names = [r.name for r in [*events.flow_runs(), *events.task_runs()]]

    def text(message: str) -> str:
        for name in names:  # generated names differ between any two runs
            message = message.replace(repr(name), "<name>")
        return message.splitlines()[0] if message else ""
    rows: list[tuple[Any, ...]] = []
    for record in events:
        if isinstance(record, FlowRunCreated):
            rows.append(("flow", record.flow_name, record.parameters, sorted(record.tags),
                         record.identity, flows.get(record.parent_flow_run_id),
                         tasks.get(record.parent_task_run_id)))
        elif isinstance(record, TaskRunCreated):
            rows.append(("task", record.task_name, record.parameters, flows[record.flow_run_id]))
        elif isinstance(record, StateChanged):
            state = record.state
            rows.append(("state", flows.get(record.run_id) or tasks[record.run_id],
                         state.type.value, state.name, state.message, record.run_count,
                         repr(state.data)[:60]))
        elif isinstance(record, LogEmitted):
            rows.append(("log", record.level, record.logger, text(record.message),
                         flows.get(record.flow_run_id), tasks.get(record.task_run_id)))
    return sorted(rows, key=repr)  # submitted runs interleave in any order


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("level", ["INFO", "WARNING"])
def test_a_plain_subflow_records_what_the_general_logic_records(
    case: str, level: str, monkeypatch: pytest.MonkeyPatch,
    logging_at: Callable[[str], None],
) -> None:
    logging_at(level)
    taken: list[bool] = []

    def watched(*args: Any) -> bool:
        answer = plain_flow.is_plain_subflow(*args)
        taken.append(answer)
        return answer

    monkeypatch.setattr(calls, "is_plain_subflow", watched)
    straight_value, straight = run_flow(CASES[case])
    assert taken and any(taken)  # the straight line ran the subflow calls

    monkeypatch.setattr(calls, "is_plain_subflow", lambda *args: False)
    general_value, general = run_flow(CASES[case])

    assert summary(straight) == summary(general)
    assert repr(straight_value)[:60] == repr(general_value)[:60]
    assert any(row[0] == "state" for row in summary(straight))


def test_a_feature_sends_the_subflow_down_the_general_path() -> None:
    parent: Any = type("Parent", (), {"resume": None, "log_prints": False})()
    assert plain_flow.is_plain_subflow(returns, {"x": 1}, None, parent)
    for changed in ({"retries": 1}, {"timeout_seconds": 5}, {"flow_run_name": "r-{x}"},
                    {"on_failure": [lambda *a: None]}, {"log_prints": True}):
        assert not plain_flow.is_plain_subflow(returns.with_options(**changed), {"x": 1}, None,
                                               parent), changed
    assert not plain_flow.is_plain_subflow(returns, {"x": 1}, None, None)  # top level
    assert not plain_flow.is_plain_subflow(returns, {"x": 1}, [1], parent)  # waits for something
