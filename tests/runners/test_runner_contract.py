"""One contract every task runner passes: thread pool, process pool, Dask (threads and processes),
Ray.

Task functions live at module level so the process-based runners can import them. The Ray cases
share the test session's local Ray (`ray_session`): skipped without `ray`, failed under CI=true.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from headwater import flow, get_run_logger, tags, task
from headwater.core.annotations import allow_failure, quote, unmapped
from headwater.errors import SerializationError
from headwater.events.memory import MemorySink
from headwater.runners import TaskRunner, ThreadPoolTaskRunner
from headwater.runners.dask import DaskTaskRunner
from headwater.runners.process import ProcessPoolTaskRunner
from headwater.runners.ray import RayTaskRunner
from tests.runners.test_ray_runner import ray_session  # noqa: F401  (a fixture)


@task
def double(x: int) -> int:
    return x * 2


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def total(values: list[int]) -> int:
    return sum(values)


@task
def explode(x: int) -> int:
    raise KeyError(x)


@task
def describe(value: Any) -> str:
    return repr(value)


@task
def logs_and_returns(x: int) -> int:
    get_run_logger().info("working on %s", x)
    return x


@task
async def async_double(x: int) -> int:
    return x * 2


@task
def run_tags() -> list[str]:
    from headwater.runtime import task_run

    return sorted(task_run.tags)


@task
def returns_a_lock() -> Any:
    return threading.Lock()


RUNNERS: dict[str, Callable[[], TaskRunner]] = {
    "thread": lambda: ThreadPoolTaskRunner(max_workers=4),
    "process": lambda: ProcessPoolTaskRunner(max_workers=2),
    "dask-threads": lambda: DaskTaskRunner(
        cluster_kwargs={"n_workers": 1, "threads_per_worker": 4, "processes": False,
                        "dashboard_address": ":0"}
    ),
    "dask-processes": lambda: DaskTaskRunner(
        cluster_kwargs={"n_workers": 2, "threads_per_worker": 2, "processes": True,
                        "dashboard_address": ":0"}
    ),
    # Uses the session's Ray (see `make`), so each flow run does not start one of its own.
    "ray": lambda: RayTaskRunner(),
}


def make(name: str, request: pytest.FixtureRequest) -> TaskRunner:
    """A fresh runner of kind `name`; Ray's starts the session's Ray first (or skips)."""
    if name == "ray":
        request.getfixturevalue("ray_session")
    return RUNNERS[name]()


@pytest.fixture(params=sorted(RUNNERS))
def runner(request: pytest.FixtureRequest) -> TaskRunner:
    return make(request.param, request)


def _in_flow(runner: TaskRunner, body: Callable[[], Any]) -> Any:
    @flow(task_runner=runner)
    def contract_flow() -> Any:
        return body()

    return contract_flow()


def test_submitted_tasks_return_futures_with_results(runner: TaskRunner) -> None:
    def body() -> Any:
        futures = [double.submit(i) for i in range(5)]
        return [f.result() for f in futures], all(f.state.is_completed() for f in futures)

    assert _in_flow(runner, body) == ([0, 2, 4, 6, 8], True)


def test_futures_in_arguments_are_resolved_even_inside_containers(
    runner: TaskRunner, events: MemorySink
) -> None:
    def body() -> Any:
        a = double.submit(1)
        b = double.submit(2)
        return total.submit([a, b, 3]).result(), describe.submit({"k": (a,)}).result()

    assert _in_flow(runner, body) == (9, "{'k': (2,)}")
    edges = events.dependencies()
    assert {e.parameter for e in edges} == {"values", "value"}
    assert len(edges) == 3


def test_map_with_unmapped_matches_the_seed_example(runner: TaskRunner) -> None:
    @task
    def map_task(a: int, b: list[int]) -> int:
        return a + sum(b)

    def body() -> Any:
        return add.map([4, 5, 6], unmapped(6)).result()

    assert _in_flow(runner, body) == [10, 11, 12]


def test_a_failed_upstream_leaves_the_downstream_not_ready_without_running_it(
    runner: TaskRunner, events: MemorySink
) -> None:
    def body() -> Any:
        bad = explode.submit(1)
        after = double.submit(bad)
        after.wait()
        return after.state.name, after.state.type.value, after.state.message

    name, kind, message = _in_flow(runner, body)
    assert (name, kind) == ("NotReady", "PENDING")
    assert "did not reach a 'COMPLETED' state" in message


def test_allow_failure_passes_the_upstream_exception_downstream(runner: TaskRunner) -> None:
    def body() -> Any:
        bad = explode.submit(7)
        return describe.submit(allow_failure(bad)).result()

    assert _in_flow(runner, body) == "KeyError(7)"


def test_a_failed_future_raises_the_original_exception(runner: TaskRunner) -> None:
    def body() -> Any:
        future = explode.submit(3)
        with pytest.raises(KeyError):
            future.result()
        return future.result(raise_on_failure=False)

    assert repr(_in_flow(runner, body)) == "KeyError(3)"


def test_worker_logs_and_states_reach_the_flow_sink(
    runner: TaskRunner, events: MemorySink
) -> None:
    def body() -> Any:
        return logs_and_returns.map([1, 2]).result()

    assert _in_flow(runner, body) == [1, 2]
    assert sorted(m for m in events.messages() if m.startswith("working")) == [
        "working on 1", "working on 2",
    ]
    for run in events.task_runs():
        assert events.state_names(run.task_run_id) == ["Pending", "Running", "Completed"]


def test_async_tasks_run_on_every_runner(runner: TaskRunner) -> None:
    def body() -> Any:
        return async_double.map([1, 2, 3]).result()

    assert _in_flow(runner, body) == [2, 4, 6]


def test_tags_reach_the_workers(runner: TaskRunner) -> None:
    def body() -> Any:
        with tags("nightly"):
            return run_tags.submit().result()

    assert _in_flow(runner, body) == ["nightly"]


def test_the_flow_waits_for_submitted_runs_it_never_awaited(
    runner: TaskRunner, events: MemorySink
) -> None:
    def body() -> None:
        for i in range(4):
            double.submit(i)

    _in_flow(runner, body)
    finals = [events.final_state(r.task_run_id) for r in events.task_runs()]
    assert len(finals) == 4 and all(s is not None and s.is_completed() for s in finals)


def test_quote_passes_a_value_without_resolving_it(runner: TaskRunner) -> None:
    def body() -> Any:
        return describe.submit(quote([1, 2])).result()

    assert _in_flow(runner, body) == "[1, 2]"


@pytest.mark.parametrize("name", ["process", "dask-processes", "ray"])
def test_an_unpicklable_result_fails_the_run_clearly(
    name: str, request: pytest.FixtureRequest
) -> None:
    def body() -> Any:
        future = returns_a_lock.submit()
        future.wait()
        with pytest.raises(SerializationError):
            future.result()
        return future.state.is_failed(), future.state.message

    failed, message = _in_flow(make(name, request), body)
    assert failed
    assert "cannot be sent back" in message


@pytest.mark.parametrize("name", ["process", "dask-processes", "ray"])
def test_an_unpicklable_argument_fails_the_run_and_names_the_argument(
    name: str, request: pytest.FixtureRequest
) -> None:
    def body() -> Any:
        future = describe.submit(threading.Lock())
        future.wait()
        return future.state.is_failed(), future.state.message

    failed, message = _in_flow(make(name, request), body)
    assert failed
    assert "argument 'value'" in message


@task
def prints(x: int) -> int:
    print(f"printed {x}")
    return x


def test_log_prints_reaches_the_workers(runner: TaskRunner, events: MemorySink) -> None:
    @flow(task_runner=runner, log_prints=True)
    def printing_flow() -> list[int]:
        return prints.map([1, 2]).result()

    assert printing_flow() == [1, 2]
    assert sorted(m for m in events.messages() if m.startswith("printed")) == [
        "printed 1", "printed 2",
    ]
