"""RayTaskRunner against a real local Ray: one Ray (2 CPUs) for the whole test session.

Without `ray` installed these tests are skipped, except under CI=true, where that is a failure.
Task functions live at module level: Ray's workers import them from here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater import flow, get_run_logger, task
from headwater.errors import OptionError, SerializationError
from headwater.events.memory import MemorySink
from headwater.runners.ray import RayTaskRunner
from headwater.testing import task_run_request

# -- the session's Ray ----------------------------------------------------------------------------


def _ray_missing_reason() -> str | None:
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        return f"ray is not installed (pip install 'headwater[ray]'): {exc}"
    return None


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """The `ray` module, initialized once for the session: a local Ray with 2 CPUs. Skips when
    ray is not installed, except under CI=true, where that is a failure."""
    reason = _ray_missing_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true requires Ray: {reason}")
        pytest.skip(reason)
    import ray

    started = not ray.is_initialized()
    if started:
        # log_to_driver=False: workers' console lines would reach pytest's capture from a
        # thread of Ray's, at any time; their records reach the flow's sink anyway.
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR,
                 log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


# -- tasks (module level: Ray's workers import them) ----------------------------------------------


@task
def double(x: int) -> int:
    return x * 2


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def explode(x: int) -> int:
    raise KeyError(x)


@task
def describe(value: Any) -> str:
    return repr(value)


@task
def logs_and_returns(x: int) -> int:
    get_run_logger().info("on ray: %s", x)
    return x


@task
async def async_double(x: int) -> int:
    await asyncio.sleep(0)
    return x * 2


@task
def returns_a_lock() -> Any:
    return threading.Lock()


@task(retries=2, retry_delay_seconds=0)
def fails_once() -> tuple[int, int]:
    from headwater.runtime import task_run

    if task_run.run_count < 2:
        raise RuntimeError("first attempt fails")
    return os.getpid(), task_run.run_count


@task
def where_am_i() -> dict[str, Any]:
    import ray

    from headwater.runtime import task_run

    context = ray.get_runtime_context()
    return {
        "ray_task_name": context.get_task_name(),
        "resources": context.get_assigned_resources(),  # type: ignore[no-untyped-call]
        "task_run_id": task_run.id,
        "pid": os.getpid(),
    }


@task
def waits_for(path: str) -> str:
    deadline = time.monotonic() + 60  # only to stop a hang
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    return path


def _on_ray(body: Any, runner: RayTaskRunner | None = None) -> Any:
    @flow(task_runner=runner or RayTaskRunner())
    def ray_flow() -> Any:
        return body()

    return ray_flow()


# -- results --------------------------------------------------------------------------------------


def test_submit_and_map_return_the_results(ray_session: Any) -> None:
    def body() -> Any:
        return double.submit(21).result(), double.map([1, 2, 3]).result()

    assert _on_ray(body) == (42, [2, 4, 6])


def test_a_failing_task_raises_its_own_exception_type(ray_session: Any) -> None:
    def body() -> Any:
        future = explode.submit(7)
        with pytest.raises(KeyError):
            future.result()
        return future.state.is_failed(), future.result(raise_on_failure=False)

    failed, exc = _on_ray(body)
    assert failed and type(exc) is KeyError and exc.args == (7,)


def test_retries_happen_on_the_ray_worker(ray_session: Any, events: MemorySink) -> None:
    def body() -> Any:
        return fails_once.submit().result()

    pid, run_count = _on_ray(body)
    assert pid != os.getpid()  # it ran in a Ray worker process
    assert run_count == 2
    (run,) = events.task_runs()
    names = events.state_names(run.task_run_id)
    # The second attempt starts as Retrying, on the same worker, right away (no delay).
    assert names == ["Pending", "Running", "Retrying", "Completed"]


def test_worker_logs_and_every_state_reach_the_flow_sink(
    ray_session: Any, events: MemorySink
) -> None:
    def body() -> Any:
        return logs_and_returns.map([1, 2, 3]).result()

    assert _on_ray(body) == [1, 2, 3]
    assert sorted(m for m in events.messages() if m.startswith("on ray")) == [
        "on ray: 1", "on ray: 2", "on ray: 3",
    ]
    runs = events.task_runs()
    assert len(runs) == 3
    for run in runs:
        assert events.state_names(run.task_run_id) == ["Pending", "Running", "Completed"]
        assert [m for m in events.messages(run.task_run_id) if m.startswith("on ray")]


def test_an_unpicklable_argument_fails_that_run_naming_the_argument(
    ray_session: Any, events: MemorySink
) -> None:
    def body() -> Any:
        bad = describe.submit(threading.Lock())
        bad.wait()
        good = double.submit(5).result()  # the flow goes on
        return bad.state.is_failed(), bad.state.message, good

    failed, message, good = _on_ray(body)
    assert failed and good == 10
    assert "argument 'value'" in message and "cannot be pickled" in message
    assert len(events.task_runs()) == 2


def test_an_unpicklable_argument_in_a_map_fails_that_run_alone(ray_session: Any) -> None:
    def body() -> Any:
        futures = describe.map([1, threading.Lock(), 3])
        futures.wait()
        return [f.state.type.value for f in futures], futures[1].state.message

    kinds, message = _on_ray(body)
    assert kinds == ["COMPLETED", "FAILED", "COMPLETED"]
    assert "argument 'value'" in message


def test_an_unpicklable_result_fails_the_run(ray_session: Any) -> None:
    def body() -> Any:
        future = returns_a_lock.submit()
        future.wait()
        with pytest.raises(SerializationError):
            future.result()
        return future.state.is_failed(), future.state.message

    failed, message = _on_ray(body)
    assert failed and "cannot be sent back" in message


def test_async_tasks_run_on_ray(ray_session: Any) -> None:
    def body() -> Any:
        return async_double.map([1, 2, 3]).result(), async_double.submit(5).result()

    assert _on_ray(body) == ([2, 4, 6], 10)


def test_upstream_futures_are_passed_between_ray_tasks(
    ray_session: Any, events: MemorySink
) -> None:
    def body() -> Any:
        a = double.submit(2)  # 4
        b = double.submit(a)  # 8
        c = add.submit(a, b)  # 12
        mapped = add.map([a, b, c], 1)  # 5, 9, 13
        return c.result(), mapped.result()

    assert _on_ray(body) == (12, [5, 9, 13])
    assert len(events.dependencies()) == 1 + 2 + 3


def _task_adding(amount: int) -> Any:
    """A task that cannot be imported (a closure): it travels by value, under one name."""

    @task(name="adds")
    def adds(x: int) -> int:
        return x + amount

    return adds


def test_a_task_and_its_flow_run_are_pickled_once_for_all_its_runs(
    ray_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headwater.engine.execution import TaskRunRequest

    shared_bytes = TaskRunRequest.shared_bytes
    shipped: list[str] = []

    def counted(request: TaskRunRequest) -> bytes:
        shipped.append(request.task.name)
        return shared_bytes(request)

    monkeypatch.setattr(TaskRunRequest, "shared_bytes", counted)
    adds = _task_adding(10)

    def body() -> Any:
        return adds.map(range(20)).result(), double.map(range(3)).result()

    assert _on_ray(body) == ([x + 10 for x in range(20)], [0, 2, 4])
    assert sorted(shipped) == ["adds", "double"]


def test_workers_do_not_confuse_tasks_of_the_same_name_or_their_flow_runs(
    ray_session: Any,
) -> None:
    # Workers keep what they loaded for a task's next runs: another task under the same name,
    # or the same task in another flow run, must not reuse it.
    @flow(task_runner=RayTaskRunner())
    def adding(adds: Any, tag: str) -> Any:
        return tag, adds.map(range(10)).result()

    one, two = _task_adding(1), _task_adding(2)
    for _ in range(2):
        assert adding(one, "a") == ("a", [x + 1 for x in range(10)])
        assert adding(two, "b") == ("b", [x + 2 for x in range(10)])


def test_large_shared_parts_go_by_reference_through_the_object_store(
    ray_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import headwater.runners.ray as ray_runner

    monkeypatch.setattr(ray_runner, "_INLINE_SHARED_BYTES", 0)
    ship = RayTaskRunner._ship
    sent: list[Any] = []

    def recorded(runner: RayTaskRunner, request: Any) -> Any:
        shipped = ship(runner, request)
        sent.append(shipped[1])
        return shipped

    monkeypatch.setattr(RayTaskRunner, "_ship", recorded)

    def body() -> Any:
        return _task_adding(5).map(range(10)).result()

    assert _on_ray(body) == [x + 5 for x in range(10)]
    assert [type(shared).__name__ for shared in sent] == ["tuple"]  # (_fetch, its ObjectRef)


def test_an_unpicklable_task_fails_its_runs_naming_the_task(ray_session: Any) -> None:
    lock = threading.Lock()

    @task
    def holds_a_lock(x: int) -> bool:
        return lock.locked()

    def body() -> Any:
        futures = holds_a_lock.map([1, 2])
        futures.wait()
        return [f.state.is_failed() for f in futures], futures[0].state.message

    failed, message = _on_ray(body)
    assert failed == [True, True]
    assert "holds_a_lock" in message and "cannot be pickled" in message


# -- Ray options ----------------------------------------------------------------------------------


def test_remote_options_reach_ray_and_ray_tasks_are_named_after_their_task(
    ray_session: Any,
) -> None:
    def body() -> Any:
        return where_am_i.submit().result()

    seen = _on_ray(body, RayTaskRunner(remote_options={"num_cpus": 0.5}))
    assert seen["resources"] == {"CPU": 0.5}
    assert seen["ray_task_name"] == "where_am_i"
    assert seen["pid"] != os.getpid()


def test_a_runner_on_an_already_initialized_ray_leaves_it_running(ray_session: Any) -> None:
    runner = RayTaskRunner()
    with runner:
        assert runner.submit(task_run_request(double, x=4)).result().state.result() == 8
        assert runner._owns_ray is False
    assert ray_session.is_initialized()
    assert ray_session.get(ray_session.put(1)) == 1  # still usable


def test_runners_that_connect_to_a_cluster_share_the_connection_and_the_last_closes_it(
    ray_session: Any, tmp_path: Any
) -> None:
    # A fresh interpreter connects to this session's Ray by address. A subflow's runner, and a
    # flow run in another thread that outlives the one that connected, share the connection;
    # the last runner out closes it, and the session's Ray keeps running.
    address = ray_session.get_runtime_context().gcs_address
    script = tmp_path / "connect.py"
    script.write_text(textwrap.dedent(
        f"""
        import json
        import threading

        import ray
        from headwater import flow, task
        from headwater.runners.ray import RayTaskRunner

        ADDRESS = {address!r}
        first_started, second_started, first_done = (threading.Event() for _ in range(3))

        @task
        def triple(x):
            return 3 * x

        @flow(task_runner=RayTaskRunner())
        def child():
            return triple.submit(5).result()

        @flow(task_runner=RayTaskRunner(address=ADDRESS))
        def first():
            mapped = triple.map([1, 2]).result()  # this flow's runner connects
            first_started.set()
            inner = child()  # the subflow's runner shares the connection...
            after = triple.submit(3).result()  # ...and leaves it open
            second_started.wait(60)
            return mapped, inner, after

        @flow(task_runner=RayTaskRunner(address=ADDRESS))
        def second():
            first_started.wait(60)
            before = triple.submit(4).result()  # shares the connection `first` opened
            second_started.set()
            first_done.wait(60)  # `first` has ended: its runner is closed
            return before, triple.submit(6).result(), ray.is_initialized()

        results = {{}}
        other = threading.Thread(target=lambda: results.update(second=second()))
        other.start()
        results["first"] = first()
        first_done.set()
        other.join()
        print(json.dumps([results["first"], results["second"], ray.is_initialized()]))
        """
    ))
    env = {**os.environ, "HEADWATER_STORE": "memory", "HEADWATER_LOGGING_LEVEL": "WARNING"}
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[[[3, 6], 15, 9], [12, 18, true], false]"
    assert ray_session.get(ray_session.put(2)) == 2  # the session's Ray is still up


def test_ray_rejects_unknown_remote_options_when_the_runner_starts(ray_session: Any) -> None:
    runner = RayTaskRunner(remote_options={"num_cpu": 1})
    with pytest.raises(OptionError, match="num_cpu") as info:
        runner.__enter__()
    assert "Ray does not accept these task options" in str(info.value)
    assert ray_session.is_initialized()  # the session's Ray is not the runner's to stop


def test_runs_that_finish_behind_a_slow_one_settle_while_it_still_runs(
    ray_session: Any, tmp_path: Path
) -> None:
    # The results thread looks at a window of the oldest pending runs; one that has not
    # finished goes to the back, so the runs behind it are settled as they finish, not when
    # it does. The slow run holds one CPU; the rest run on the other, and more of them than any
    # window holds.
    release = tmp_path / "release"
    runner = RayTaskRunner()
    try:
        with runner:
            slow = runner.submit(task_run_request(waits_for, path=str(release)))
            quick = [runner.submit(task_run_request(double, x=i)) for i in range(300)]
            for i, future in enumerate(quick):
                assert future.result(timeout=120).state.result() == 2 * i
            assert not slow.done()
            release.touch()
            assert slow.result(timeout=120).state.result() == str(release)
    finally:
        release.touch()


def test_cancel_on_exit_drops_runs_that_have_not_finished(
    ray_session: Any, tmp_path: Path
) -> None:
    # Each run takes both CPUs, so the runs queue up behind the first; none can finish before
    # the test releases them, after the runner has closed.
    release = tmp_path / "release"
    runner = RayTaskRunner(remote_options={"num_cpus": 2})
    try:
        with runner:
            futures = [runner.submit(task_run_request(waits_for, path=str(release)))
                       for _ in range(4)]
            runner.cancel_on_exit = True
        # A runner that waited for its runs would have returned only after their gate gave up
        # (60 s), with every future done, not cancelled.
        assert [f.cancelled() for f in futures] == [True] * 4, [
            (f.done(), f.cancelled(), f.done() and not f.cancelled() and f.exception())
            for f in futures]
    finally:
        release.touch()


# -- options and lifecycle (no Ray needed) --------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"address": 10001}, "address=10001): give the address of a running Ray cluster"),
        ({"address": "  "}, "give the address of a running Ray cluster"),
        ({"init_kwargs": ["num_cpus", 2]}, "init_kwargs=['num_cpus', 2]): give a dict"),
        ({"init_kwargs": {"address": "auto"}}, "RayTaskRunner(address='auto'), not inside"),
        ({"remote_options": "num_cpus=1"}, "remote_options='num_cpus=1'): give a dict"),
        ({"remote_options": {1: 2}}, "give a dict of keyword arguments by name"),
        ({"remote_options": {"name": "x"}}, "headwater sets 'name' itself"),
        ({"remote_options": {"num_returns": 2}}, "headwater sets 'num_returns' itself"),
    ],
)
def test_options_are_checked_when_the_runner_is_made(kwargs: dict[str, Any], expected: str) -> None:
    with pytest.raises(OptionError) as info:
        RayTaskRunner(**kwargs)
    assert expected in str(info.value)
    assert info.value.option == next(iter(kwargs))


def test_runners_with_the_same_settings_are_equal_and_duplicate_cleanly() -> None:
    runner = RayTaskRunner(address="auto", init_kwargs={"namespace": "etl"},
                           remote_options={"num_cpus": 0.5})
    assert runner.name == "ray"
    assert runner == RayTaskRunner(address="auto", init_kwargs={"namespace": "etl"},
                                   remote_options={"num_cpus": 0.5})
    assert runner != RayTaskRunner(address="auto")
    copy = runner.duplicate()
    assert copy == runner and copy is not runner
    assert repr(runner) == (
        "RayTaskRunner(address='auto', init_kwargs={'namespace': 'etl'}, "
        "remote_options={'num_cpus': 0.5})"
    )
    assert repr(RayTaskRunner()) == "RayTaskRunner(address=None)"
    with pytest.raises(RuntimeError, match="not started"):
        runner.submit(task_run_request(double, x=1))


def test_without_ray_starting_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'headwater\[ray\]'"):
        RayTaskRunner().__enter__()


def test_the_runner_is_exported_lazily_and_served_to_prefect_code() -> None:
    import headwater.compat
    import headwater.runners
    from headwater.compat import UnsupportedPrefectFeature

    assert headwater.runners.RayTaskRunner is RayTaskRunner
    headwater.compat.install()
    try:
        import prefect_ray  # type: ignore[import-not-found]
        from prefect_ray.task_runners import (  # type: ignore[import-not-found]
            RayTaskRunner as FromTaskRunners,
        )

        assert prefect_ray.RayTaskRunner is RayTaskRunner and FromTaskRunners is RayTaskRunner
        # prefect-ray's signature: RayTaskRunner(address=None, init_kwargs=None)
        assert FromTaskRunners("ray://h:10001", {"num_cpus": 1}).address == "ray://h:10001"
        import prefect_ray.context  # type: ignore[import-not-found]  # imports; use raises

        with pytest.raises(UnsupportedPrefectFeature, match="remote_options"):
            prefect_ray.context.remote_options(num_cpus=1)
    finally:
        headwater.compat.uninstall()
