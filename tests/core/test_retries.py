"""Retries: attempts, delays (numbers, lists, backoff, jitter), conditions, flow retries."""

from __future__ import annotations

import pytest

from headwater import flow, task
from headwater.engine import retries as rules
from headwater.events.memory import MemorySink
from headwater.runtime import flow_run, task_run
from headwater.tasks import exponential_backoff
from headwater.testing import FrozenClock


def test_retries_n_means_n_plus_one_attempts_with_retrying_states(
    events: MemorySink, clock: FrozenClock
) -> None:
    attempts: list[int] = []

    @task(retries=2)
    def flaky() -> str:
        attempts.append(task_run.run_count)
        if len(attempts) < 3:
            raise ValueError("again")
        return "ok"

    assert flaky() == "ok"
    assert attempts == [1, 2, 3]
    [run] = events.task_runs()
    assert events.state_names(run.task_run_id) == [
        "Pending", "Running", "Retrying", "Retrying", "Completed",
    ]
    assert clock.slept == []


def test_a_task_that_keeps_failing_raises_after_its_last_attempt(
    events: MemorySink, clock: FrozenClock
) -> None:
    calls = []

    @task(retries=1)
    def broken() -> None:
        calls.append(1)
        raise KeyError("nope")

    with pytest.raises(KeyError):
        broken()
    assert len(calls) == 2
    [run] = events.task_runs()
    assert events.final_state(run.task_run_id).is_failed()
    assert any("Retries are exhausted" in m for m in events.messages(run.task_run_id))


def test_delay_lists_are_indexed_by_retry_number_and_the_last_value_repeats(
    events: MemorySink, clock: FrozenClock
) -> None:
    @task(retries=4, retry_delay_seconds=[2, 4])
    def broken() -> None:
        raise RuntimeError("x")

    with pytest.raises(RuntimeError):
        broken()
    assert clock.slept == [2, 4, 4, 4]
    [run] = events.task_runs()
    names = events.state_names(run.task_run_id)
    assert names.count("AwaitingRetry") == 4
    assert names.count("Retrying") == 4


def test_exponential_backoff_waits_double_each_time(clock: FrozenClock) -> None:
    @task(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=2))
    def broken() -> None:
        raise RuntimeError("x")

    with pytest.raises(RuntimeError):
        broken()
    assert clock.slept == [2, 4, 8]
    assert exponential_backoff(10)(4) == [10, 20, 40, 80]


def test_jitter_keeps_each_delay_within_its_bounds() -> None:
    draws = [rules.apply_jitter(10.0, 0.5) for _ in range(500)]
    assert all(5.0 <= d <= 15.0 for d in draws)
    assert len(set(draws)) > 100  # it really varies
    assert rules.apply_jitter(10.0, None) == 10.0
    assert rules.apply_jitter(0.0, 0.5) == 0.0


def test_jitter_is_applied_to_task_retry_delays(clock: FrozenClock) -> None:
    @task(retries=20, retry_delay_seconds=10, retry_jitter_factor=0.3)
    def broken() -> None:
        raise RuntimeError("x")

    with pytest.raises(RuntimeError):
        broken()
    assert len(clock.slept) == 20
    assert all(7.0 <= d <= 13.0 for d in clock.slept)
    assert len(set(clock.slept)) > 1


def test_a_falsy_retry_condition_stops_retrying(events: MemorySink, clock: FrozenClock) -> None:
    seen = []

    def only_value_errors(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
        seen.append((task.name, task_run.run_count, state.is_failed()))
        try:
            state.result()
        except ValueError:
            return True
        except Exception:
            return False
        return False

    calls = []

    @task(retries=5, retry_condition_fn=only_value_errors)
    def fails_differently() -> None:
        calls.append(1)
        raise (ValueError if len(calls) < 2 else TypeError)("x")

    with pytest.raises(TypeError):
        fails_differently()
    assert len(calls) == 2
    assert seen == [("fails_differently", 1, True), ("fails_differently", 2, True)]


def test_a_retry_condition_is_not_called_after_the_last_attempt(clock: FrozenClock) -> None:
    seen = []

    @task(retries=1, retry_condition_fn=lambda t, r, s: seen.append(r.run_count) or True)
    def broken() -> None:
        raise RuntimeError("x")

    with pytest.raises(RuntimeError):
        broken()
    assert seen == [1]


def test_a_retry_condition_that_raises_is_reported_and_ends_retrying(
    events: MemorySink, clock: FrozenClock
) -> None:
    def bad_condition(task, task_run, state):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("in the condition")

    calls = []

    @task(retries=3, retry_condition_fn=bad_condition)
    def broken() -> None:
        calls.append(1)
        raise RuntimeError("x")

    with pytest.raises(RuntimeError):
        broken()
    assert len(calls) == 1
    messages = "\n".join(events.messages())
    assert "retry_condition_fn" in messages and "bad_condition" in messages
    assert "ZeroDivisionError" in messages


def test_flow_retries_rerun_the_flow_body(events: MemorySink, clock: FrozenClock) -> None:
    counts = []

    @flow(retries=2, retry_delay_seconds=1)
    def flaky_flow() -> int:
        counts.append(flow_run.run_count)
        if len(counts) < 3:
            raise ValueError("try again")
        return len(counts)

    assert flaky_flow() == 3
    assert counts == [1, 2, 3]
    assert clock.slept == [1, 1]
    [run] = events.flow_runs()
    assert events.state_names(run.flow_run_id) == [
        "Pending", "Running", "AwaitingRetry", "Running", "AwaitingRetry", "Running", "Completed",
    ]


def test_the_seed_retry_flow_waits_the_backoff_delays_and_retries_the_flow(
    events: MemorySink, clock: FrozenClock
) -> None:
    task_calls = []

    @task(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=2))
    def retry_task_3() -> None:
        task_calls.append(1)
        raise Exception("restry task")

    @flow(retries=2, retry_delay_seconds=1, version="1.0.0")
    def retry_flow(type: int) -> None:
        if type == 3:
            retry_task_3()

    with pytest.raises(Exception, match="restry task"):
        retry_flow(3)
    # 3 flow attempts x 3 task attempts; task delays 2, 4 per flow attempt; flow delays 1, 1.
    assert len(task_calls) == 9
    assert clock.slept == [2, 4, 1, 2, 4, 1, 2, 4]
