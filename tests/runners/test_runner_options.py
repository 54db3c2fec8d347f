"""Task runner options and lifecycle: checked values, fresh copies, clear misuse errors."""

from __future__ import annotations

import pytest

from headwater import flow, get_run_context, task
from headwater.errors import OptionError
from headwater.runners import ThreadPoolTaskRunner
from headwater.runners.process import ProcessPoolTaskRunner
from headwater.testing import task_run_request


@task
def one() -> int:
    return 1


@pytest.mark.parametrize("runner_class", [ThreadPoolTaskRunner, ProcessPoolTaskRunner])
@pytest.mark.parametrize("bad", [0, -1, 2.5, "4", True])
def test_max_workers_must_be_a_positive_whole_number(runner_class: type, bad: object) -> None:
    with pytest.raises(OptionError, match="max_workers must be a whole number >= 1") as info:
        runner_class(max_workers=bad)
    assert repr(bad) in str(info.value)


def test_runner_names_and_copies() -> None:
    runner = ThreadPoolTaskRunner(max_workers=3)
    assert runner.name == "threadpool" and ProcessPoolTaskRunner().name == "processpool"
    assert runner.duplicate() == runner and runner.duplicate() is not runner
    assert runner != ThreadPoolTaskRunner(max_workers=4)


def test_a_runner_cannot_be_used_before_it_starts_or_started_twice() -> None:
    runner = ThreadPoolTaskRunner()
    with pytest.raises(RuntimeError, match="not started"):
        runner.submit(task_run_request(one))
    with runner, pytest.raises(RuntimeError, match="already started"):
        runner.__enter__()


def test_a_flow_decorated_with_a_runner_class_gets_an_instance() -> None:
    @flow(task_runner=ThreadPoolTaskRunner)
    def uses_class() -> int:
        return one.submit().result()

    assert isinstance(uses_class.task_runner, ThreadPoolTaskRunner)
    assert uses_class() == 1


def test_something_that_is_not_a_runner_is_rejected_at_decoration() -> None:
    with pytest.raises(OptionError, match="task runner such as ThreadPoolTaskRunner"):
        flow(task_runner="threads")(lambda: None)


def test_a_flow_that_never_submits_never_starts_a_pool() -> None:
    @flow
    def direct_only() -> tuple[int, object]:
        value = one()
        return value, get_run_context().runner  # type: ignore[union-attr]

    @flow
    def submits() -> object:
        one.submit().wait()
        return get_run_context().runner  # type: ignore[union-attr]

    assert direct_only() == (1, None)
    assert isinstance(submits(), ThreadPoolTaskRunner)
