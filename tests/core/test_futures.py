"""Futures, `.submit`, dependencies between submitted runs, and what crosses into worker threads.

Everything here runs on the default `ThreadPoolTaskRunner`; `tests/runners/` checks the basics
on every runner. Ordering is controlled with `threading.Event`s, never with sleeps: a task that
must still be running waits on a gate the test opens (always in a `finally`, so a failing
assertion cannot leave a worker blocked).
"""

from __future__ import annotations

import asyncio
import importlib
import threading
import time
from collections import namedtuple
from typing import Any
from uuid import UUID

import pytest

from headwater import flow, runtime, tags, task
from headwater.core.annotations import allow_failure, quote
from headwater.core.futures import (
    DoneAndNotDoneFutures,
    TaskRunFuture,
    TaskRunFutureList,
    as_completed,
    wait,
)
from headwater.errors import SubmissionError, UnfinishedRun
from headwater.events.memory import MemorySink
from headwater.events.records import StateChanged
from headwater.runners import ThreadPoolTaskRunner
from headwater.states import State, StateType

GATE_LIMIT = 5.0  # seconds a gated task waits at most: a safety net, never reached when green

Pair = namedtuple("Pair", ["left", "right"])


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
def echo(value: Any) -> Any:
    return value


@task
def describe(value: Any) -> str:
    return repr(value)


@task
def explode(x: int) -> int:
    raise KeyError(x)


@task
def gated(gate: threading.Event, value: Any = None) -> Any:
    """Returns `value` once `gate` is set."""
    if not gate.wait(GATE_LIMIT):
        raise AssertionError("the test never opened the gate")
    return value


@task
def gated_explode(gate: threading.Event, x: int) -> int:
    if not gate.wait(GATE_LIMIT):
        raise AssertionError("the test never opened the gate")
    raise KeyError(x)


@task
def signals_then_waits(started: threading.Event, gate: threading.Event) -> str:
    started.set()
    if not gate.wait(GATE_LIMIT):
        raise AssertionError("the test never opened the gate")
    return "done"


def run_in_flow(body: Any, **flow_options: Any) -> Any:
    """Run `body()` as the body of a fresh flow and return what it returned.

    The value is handed out through a box, not as the flow's return value, so futures and
    states in it do not take part in deciding the flow's final state.
    """
    box: dict[str, Any] = {}

    @flow(**flow_options)
    def body_flow() -> None:
        box["value"] = body()

    body_flow()
    return box["value"]


# -- TaskRunFuture.result ---------------------------------------------------------------------


def test_result_returns_the_task_return_value() -> None:
    assert run_in_flow(lambda: double.submit(21).result()) == 42


def test_result_raises_the_tasks_original_exception_type() -> None:
    def body() -> Any:
        future = explode.submit(1)
        with pytest.raises(KeyError) as raised:
            future.result()
        return raised.value

    error = run_in_flow(body)
    assert type(error) is KeyError
    assert error.args == (1,)


def test_result_without_raise_on_failure_returns_the_exception_object() -> None:
    def body() -> Any:
        return explode.submit(7).result(raise_on_failure=False)

    error = run_in_flow(body)
    assert isinstance(error, KeyError)
    assert error.args == (7,)


def test_result_with_an_expired_timeout_raises_timeout_error_naming_the_task_run() -> None:
    gate = threading.Event()

    def body() -> Any:
        future = gated.submit(gate, "late")
        try:
            with pytest.raises(TimeoutError) as raised:
                future.result(timeout=0.01)
            still_running = not future.state.is_final()
        finally:
            gate.set()
        return str(raised.value), future.task_run_id, still_running, future.result()

    message, run_id, still_running, late = run_in_flow(body)
    assert str(run_id) in message
    assert "did not complete within 0.01 seconds" in message
    assert still_running
    assert late == "late"


def test_result_with_a_timeout_returns_normally_when_the_run_is_already_done() -> None:
    def body() -> Any:
        future = double.submit(4)
        future.wait()
        return future.result(timeout=0)

    assert run_in_flow(body) == 8


def test_result_of_a_run_left_not_ready_raises_unfinished_run() -> None:
    def body() -> Any:
        downstream = double.submit(explode.submit(1))
        with pytest.raises(UnfinishedRun) as raised:
            downstream.result()
        return str(raised.value)

    assert "PENDING" in run_in_flow(body)


# -- TaskRunFuture.wait / .state / .task_run_id / add_done_callback ---------------------------


def test_wait_with_a_timeout_returns_none_without_raising_while_the_run_is_unfinished() -> None:
    gate = threading.Event()

    def body() -> Any:
        future = gated.submit(gate)
        try:
            returned = future.wait(timeout=0.01)
            finished = future.state.is_final()
        finally:
            gate.set()
        return returned, finished

    assert run_in_flow(body) == (None, False)


def test_wait_never_raises_for_a_failed_run() -> None:
    def body() -> Any:
        future = explode.submit(1)
        returned = future.wait()
        return returned, future.state.name

    assert run_in_flow(body) == (None, "Failed")


def test_state_is_pending_while_the_run_waits_for_an_upstream() -> None:
    gate = threading.Event()

    def body() -> Any:
        upstream = gated.submit(gate, 1)
        downstream = double.submit(upstream)
        try:
            before = downstream.state
        finally:
            gate.set()
        return before.type, before.is_final(), downstream.result()

    assert run_in_flow(body) == (StateType.PENDING, False, 2)


def test_state_is_running_while_the_task_body_runs_and_final_afterwards() -> None:
    started, gate = threading.Event(), threading.Event()

    def body() -> Any:
        future = signals_then_waits.submit(started, gate)
        try:
            assert started.wait(GATE_LIMIT)
            during = future.state
        finally:
            gate.set()
        future.wait()
        return during.name, future.state.name, future.state.is_final()

    assert run_in_flow(body) == ("Running", "Completed", True)


def test_state_of_a_failed_run_is_failed_and_holds_the_exception() -> None:
    def body() -> Any:
        future = explode.submit(2)
        future.wait()
        return future.state

    state = run_in_flow(body)
    assert isinstance(state, State)
    assert state.is_failed()
    assert "KeyError" in (state.message or "")


def test_task_run_id_is_a_uuid_known_at_submission_and_matches_the_recorded_run(
    events: MemorySink,
) -> None:
    gate = threading.Event()

    def body() -> Any:
        future = gated.submit(gate)
        try:
            known_before_running = future.task_run_id
        finally:
            gate.set()
        other = double.submit(1)
        return known_before_running, future.task_run_id, other.task_run_id

    before, after, other = run_in_flow(body)
    assert isinstance(before, UUID)
    assert before == after
    assert before != other
    assert {r.task_run_id for r in events.task_runs()} == {before, other}


def test_add_done_callback_is_called_with_the_future_once_the_run_finishes() -> None:
    gate = threading.Event()
    seen: list[Any] = []
    called = threading.Event()

    def body() -> Any:
        future = gated.submit(gate, "x")
        try:
            future.add_done_callback(lambda f: (seen.append(f), called.set()))
            not_yet = list(seen)
        finally:
            gate.set()
        assert called.wait(GATE_LIMIT)
        return future, not_yet

    future, not_yet = run_in_flow(body)
    assert not_yet == []
    assert seen == [future]
    assert seen[0].state.is_completed()


def test_add_done_callback_on_a_finished_run_is_called_at_once() -> None:
    seen: list[Any] = []

    def body() -> Any:
        future = double.submit(1)
        future.wait()
        future.add_done_callback(seen.append)
        return future, list(seen)

    future, seen_right_after = run_in_flow(body)
    assert seen_right_after == [future]


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f.result(timeout=-1),
        lambda f: f.wait(timeout=-1),
        lambda f: wait([f], timeout=-1),
        lambda f: list(as_completed([f], timeout=-1)),
        lambda f: TaskRunFutureList([f]).result(timeout=-1),
        lambda f: TaskRunFutureList([f]).wait(timeout=-1),
    ],
    ids=["result", "wait", "futures.wait", "as_completed", "list.result", "list.wait"],
)
def test_a_negative_timeout_is_a_value_error(call: Any) -> None:
    def body() -> Any:
        future = double.submit(1)
        with pytest.raises(ValueError, match="'timeout' must be a non-negative number, got -1"):
            call(future)
        return True

    assert run_in_flow(body)


# -- wait / as_completed ----------------------------------------------------------------------


def test_wait_returns_done_and_not_done_sets_without_duplicates() -> None:
    gate = threading.Event()

    def body() -> Any:
        quick = double.submit(1)
        slow = gated.submit(gate)
        quick.wait()
        try:
            outcome = wait([quick, quick, slow, slow], timeout=0.01)
        finally:
            gate.set()
        return outcome, quick, slow

    outcome, quick, slow = run_in_flow(body)
    assert isinstance(outcome, DoneAndNotDoneFutures)
    done, not_done = outcome
    assert isinstance(done, set) and isinstance(not_done, set)
    assert done == {quick}
    assert not_done == {slow}


def test_wait_without_a_timeout_returns_every_future_as_done() -> None:
    def body() -> Any:
        futures = [double.submit(i) for i in range(5)] + [explode.submit(9)]
        done, not_done = wait(futures)
        return done == set(futures), not_done

    assert run_in_flow(body) == (True, set())


def test_as_completed_yields_futures_in_the_order_their_runs_finish() -> None:
    first_gate, second_gate = threading.Event(), threading.Event()

    def body() -> Any:
        a = gated.submit(first_gate, "a")
        b = gated.submit(second_gate, "b")
        try:
            stream = as_completed([a, b])
            second_gate.set()
            first_out = next(stream)
            first_gate.set()
            second_out = next(stream)
            rest = list(stream)
        finally:
            first_gate.set()
            second_gate.set()
        return [first_out.result(), second_out.result()], rest

    assert run_in_flow(body) == (["b", "a"], [])


def test_as_completed_yields_already_finished_futures_first() -> None:
    gate = threading.Event()

    def body() -> Any:
        slow = gated.submit(gate, "slow")
        quick = double.submit(1)
        quick.wait()
        try:
            stream = as_completed([slow, quick])
            first = next(stream)
        finally:
            gate.set()
        return first is quick, [f.result() for f in stream]

    assert run_in_flow(body) == (True, ["slow"])


def test_as_completed_yields_each_duplicate_future_once() -> None:
    def body() -> Any:
        future = double.submit(3)
        return [f.result() for f in as_completed([future, future, future])]

    assert run_in_flow(body) == [6]


def test_as_completed_raises_timeout_error_counting_the_unfinished_futures() -> None:
    gate = threading.Event()

    def body() -> Any:
        done_ones = [double.submit(1), double.submit(2)]
        slow = gated.submit(gate)
        for future in done_ones:
            future.wait()
        yielded = []
        try:
            with pytest.raises(TimeoutError) as raised:
                for future in as_completed([*done_ones, slow], timeout=0.01):
                    yielded.append(future)
        finally:
            gate.set()
        return str(raised.value), len(yielded)

    message, yielded = run_in_flow(body)
    assert "1 (of 3) futures unfinished" in message
    assert yielded == 2


def test_wait_and_as_completed_are_importable_from_headwater_futures() -> None:
    # The issue promises `headwater.futures.wait(...)` / `headwater.futures.as_completed(...)`.
    public = importlib.import_module("headwater.futures")
    assert public.wait is wait
    assert public.as_completed is as_completed


# -- TaskRunFutureList ------------------------------------------------------------------------


def test_a_future_list_result_is_in_input_order_whatever_the_completion_order() -> None:
    gates = [threading.Event() for _ in range(3)]

    def body() -> Any:
        futures = TaskRunFutureList(gated.submit(gate, i) for i, gate in enumerate(gates))
        try:
            for gate, future in reversed(list(zip(gates, futures, strict=True))):
                gate.set()
                future.wait()
        finally:
            for gate in gates:
                gate.set()
        return futures.result()

    assert run_in_flow(body) == [0, 1, 2]


def test_a_future_list_result_fails_fast_on_the_first_failure_to_finish() -> None:
    gate = threading.Event()

    def body() -> Any:
        futures = TaskRunFutureList([gated.submit(gate, 0), explode.submit(1)])
        try:
            with pytest.raises(KeyError) as raised:
                futures.result()
            first_still_running = not futures[0].state.is_final()
        finally:
            gate.set()
        return raised.value.args, first_still_running

    assert run_in_flow(body) == ((1,), True)


def test_a_future_list_result_without_raise_on_failure_puts_exceptions_in_place() -> None:
    def body() -> Any:
        futures = TaskRunFutureList([double.submit(1), explode.submit(2), double.submit(3)])
        return futures.result(raise_on_failure=False)

    first, error, last = run_in_flow(body)
    assert (first, last) == (2, 6)
    assert isinstance(error, KeyError)


def test_a_future_list_result_handles_the_same_future_twice() -> None:
    def body() -> Any:
        future = double.submit(5)
        return TaskRunFutureList([future, future]).result()

    assert run_in_flow(body) == [10, 10]


def test_a_future_list_result_times_out_with_a_timeout_error() -> None:
    gate = threading.Event()

    def body() -> Any:
        futures = TaskRunFutureList([double.submit(1), gated.submit(gate)])
        try:
            with pytest.raises(TimeoutError) as raised:
                futures.result(timeout=0.01)
        finally:
            gate.set()
        return str(raised.value)

    assert "within 0.01 seconds" in run_in_flow(body)


def test_a_timeout_error_raised_by_the_task_itself_passes_through_a_future_list() -> None:
    @task
    def gives_up() -> None:
        raise TimeoutError("the remote end never answered")

    def body() -> Any:
        with pytest.raises(TimeoutError) as raised:
            TaskRunFutureList([gives_up.submit()]).result()
        return str(raised.value)

    assert run_in_flow(body) == "the remote end never answered"


def test_a_future_list_wait_blocks_until_every_run_is_final_and_never_raises() -> None:
    def body() -> Any:
        futures = TaskRunFutureList([double.submit(1), explode.submit(2)])
        returned = futures.wait()
        return returned, [f.state.is_final() for f in futures]

    assert run_in_flow(body) == (None, [True, True])


def test_a_future_list_wait_with_a_timeout_returns_while_runs_are_unfinished() -> None:
    gate = threading.Event()

    def body() -> Any:
        futures = TaskRunFutureList([gated.submit(gate)])
        try:
            returned = futures.wait(timeout=0.01)
            finished = futures[0].state.is_final()
        finally:
            gate.set()
        return returned, finished

    assert run_in_flow(body) == (None, False)


# -- submitting outside a flow, return_state --------------------------------------------------


def test_submit_outside_a_flow_raises_a_submission_error_that_says_what_to_do() -> None:
    with pytest.raises(SubmissionError) as raised:
        double.submit(1)
    assert isinstance(raised.value, RuntimeError)
    message = str(raised.value)
    assert "'double'" in message
    assert "outside a flow" in message
    assert "@flow" in message


def test_map_outside_a_flow_raises_a_submission_error_that_says_what_to_do() -> None:
    with pytest.raises(RuntimeError) as raised:
        double.map([1, 2])
    assert isinstance(raised.value, SubmissionError)
    message = str(raised.value)
    assert "'double'" in message
    assert "@flow" in message


def test_submit_outside_a_flow_records_no_task_run(events: MemorySink) -> None:
    with pytest.raises(SubmissionError):
        double.submit(1)
    assert events.task_runs() == []


def test_submit_with_return_state_waits_and_returns_the_final_state() -> None:
    def body() -> Any:
        return double.submit(4, return_state=True), explode.submit(1, return_state=True)

    completed, failed = run_in_flow(body)
    assert isinstance(completed, State)
    assert completed.is_completed()
    assert completed.result() == 8
    assert failed.is_failed()
    assert isinstance(failed.result(raise_on_failure=False), KeyError)


def test_map_with_return_state_returns_a_list_of_final_states() -> None:
    def body() -> Any:
        return double.map([1, 2], return_state=True)

    states = run_in_flow(body)
    assert isinstance(states, list)
    assert [s.name for s in states] == ["Completed", "Completed"]
    assert [s.result() for s in states] == [2, 4]


# -- dependencies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda a, b: [a, [b, 3]], [2, [4, 3]]),
        (lambda a, b: (a, (b,)), (2, (4,))),
        (lambda a, b: {"a": a, "nested": {"b": b}}, {"a": 2, "nested": {"b": 4}}),
        (lambda a, b: {a, b}, {2, 4}),
        (lambda a, b: Pair(a, b), Pair(2, 4)),
        (lambda a, b: [{"k": (a,)}, {b}], [{"k": (2,)}, {4}]),
    ],
    ids=["list", "tuple", "dict", "set", "namedtuple", "mixed"],
)
def test_futures_nested_in_collections_are_resolved_and_recorded_as_dependencies(
    build: Any, expected: Any, events: MemorySink
) -> None:
    def body() -> Any:
        a, b = double.submit(1), double.submit(2)
        downstream = echo.submit(build(a, b))
        return downstream.result(), a.task_run_id, b.task_run_id, downstream.task_run_id

    received, a_id, b_id, downstream_id = run_in_flow(body)
    assert received == expected
    assert type(received) is type(expected)
    edges = {(e.task_run_id, e.upstream_run_id, e.parameter) for e in events.dependencies()}
    assert edges == {(downstream_id, a_id, "value"), (downstream_id, b_id, "value")}


def test_each_dependency_is_recorded_under_the_parameter_that_held_it(
    events: MemorySink,
) -> None:
    def body() -> Any:
        a, b = double.submit(1), double.submit(2)
        downstream = add.submit(a, y=b)
        return downstream.result(), a.task_run_id, b.task_run_id, downstream.task_run_id

    result, a_id, b_id, downstream_id = run_in_flow(body)
    assert result == 6
    assert sorted(
        (e.parameter, e.upstream_run_id) for e in events.dependencies()
        if e.task_run_id == downstream_id
    ) == [("x", a_id), ("y", b_id)]


def test_wait_for_records_a_wait_for_dependency_and_passes_no_data(events: MemorySink) -> None:
    received: list[Any] = []

    @task
    def takes_nothing(*args: Any, **kwargs: Any) -> str:
        received.append((args, kwargs))
        return "ran"

    def body() -> Any:
        upstream = double.submit(1)
        downstream = takes_nothing.submit(wait_for=[upstream])
        return downstream.result(), upstream.task_run_id, downstream.task_run_id

    result, upstream_id, downstream_id = run_in_flow(body)
    assert result == "ran"
    assert received == [((), {})]
    assert [(e.task_run_id, e.upstream_run_id, e.parameter) for e in events.dependencies()] == [
        (downstream_id, upstream_id, "wait_for")
    ]


def test_wait_for_makes_the_downstream_start_after_the_upstream_is_final(
    events: MemorySink,
) -> None:
    gate = threading.Event()

    def body() -> Any:
        upstream = gated.submit(gate, "up")
        downstream = double.submit(1, wait_for=[upstream])
        try:
            waiting = downstream.state.type
        finally:
            gate.set()
        return waiting, downstream.result(), upstream.task_run_id, downstream.task_run_id

    waiting, result, upstream_id, downstream_id = run_in_flow(body)
    assert (waiting, result) == (StateType.PENDING, 2)
    order = [
        (r.run_id, r.state.name) for r in events.records
        if isinstance(r, StateChanged) and r.kind == "task"
    ]
    assert order.index((upstream_id, "Completed")) < order.index((downstream_id, "Running"))


def test_a_failed_upstream_leaves_the_downstream_not_ready_and_its_body_never_runs(
    events: MemorySink,
) -> None:
    calls: list[Any] = []

    @task
    def records_calls(x: Any) -> Any:
        calls.append(x)
        return x

    def body() -> Any:
        downstream = records_calls.submit(explode.submit(1))
        downstream.wait()
        return downstream.task_run_id

    downstream_id = run_in_flow(body)
    assert calls == []
    assert events.state_names(downstream_id) == ["Pending", "NotReady"]
    final = events.final_state(downstream_id)
    assert final is not None and final.type is StateType.PENDING
    assert "did not reach a 'COMPLETED' state" in (final.message or "")


def test_a_failed_upstream_in_wait_for_leaves_the_downstream_not_ready(
    events: MemorySink,
) -> None:
    calls: list[Any] = []

    @task
    def records_calls() -> None:
        calls.append("ran")

    def body() -> Any:
        downstream = records_calls.submit(wait_for=[explode.submit(1)])
        downstream.wait()
        return downstream.state.name

    assert run_in_flow(body) == "NotReady"
    assert calls == []


def test_a_not_ready_run_records_every_upstream_it_was_given(events: MemorySink) -> None:
    # Prefect records a run's task_inputs before resolving them: the UI shows every edge even
    # when the first upstream failed.
    def body() -> Any:
        bad, good = explode.submit(1), double.submit(2)
        good.wait()
        downstream = add.submit(bad, good, wait_for=[good])
        downstream.wait()
        return bad.task_run_id, good.task_run_id, downstream.task_run_id

    bad_id, good_id, downstream_id = run_in_flow(body)
    assert sorted(
        ((e.parameter, e.upstream_run_id) for e in events.dependencies()
         if e.task_run_id == downstream_id),
        key=str,
    ) == sorted([("x", bad_id), ("y", good_id), ("wait_for", good_id)], key=str)


def test_a_direct_call_with_a_failed_future_argument_returns_none_without_running(
    events: MemorySink,
) -> None:
    calls: list[Any] = []

    @task
    def records_calls(x: Any) -> Any:
        calls.append(x)
        return x

    def body() -> Any:
        bad = explode.submit(1)
        return records_calls(bad)

    assert run_in_flow(body) is None
    assert calls == []
    direct = [r for r in events.task_runs() if r.task_name == "records_calls"]
    assert len(direct) == 1
    assert events.state_names(direct[0].task_run_id) == ["Pending", "NotReady"]


def test_a_not_ready_downstream_propagates_not_ready_further_down(events: MemorySink) -> None:
    def body() -> Any:
        first = double.submit(explode.submit(1))
        second = double.submit(first)
        second.wait()
        return first.state.name, second.state.name

    assert run_in_flow(body) == ("NotReady", "NotReady")


def test_allow_failure_passes_the_upstream_exception_object() -> None:
    def body() -> Any:
        bad = explode.submit(5)
        return echo.submit(allow_failure(bad)).result()

    error = run_in_flow(body)
    assert isinstance(error, KeyError)
    assert error.args == (5,)


def test_allow_failure_nested_in_a_list_passes_the_exception_in_place() -> None:
    def body() -> Any:
        bad, good = explode.submit(5), double.submit(1)
        return echo.submit([allow_failure(bad), good, 3]).result()

    error, good, three = run_in_flow(body)
    assert isinstance(error, KeyError)
    assert (good, three) == (2, 3)


def test_allow_failure_around_a_list_lets_every_failed_element_through() -> None:
    def body() -> Any:
        bad, good = explode.submit(5), double.submit(1)
        return echo.submit(allow_failure([bad, good])).result()

    error, good = run_in_flow(body)
    assert isinstance(error, KeyError)
    assert good == 2


def test_allow_failure_still_records_the_dependency(events: MemorySink) -> None:
    def body() -> Any:
        bad = explode.submit(5)
        downstream = describe.submit(allow_failure(bad))
        downstream.wait()
        return bad.task_run_id, downstream.task_run_id

    bad_id, downstream_id = run_in_flow(body)
    assert [(e.task_run_id, e.upstream_run_id, e.parameter) for e in events.dependencies()] == [
        (downstream_id, bad_id, "value")
    ]


def test_quote_passes_the_value_untouched_and_records_no_dependency(events: MemorySink) -> None:
    def body() -> Any:
        upstream = double.submit(1)
        payload = [upstream, {"k": upstream}]
        received = echo.submit(quote(payload)).result()
        return received is payload, received[0] is upstream

    assert run_in_flow(body) == (True, True)
    assert events.dependencies() == []


def test_resolution_records_nothing_and_passes_the_same_objects_when_no_argument_holds_a_future(
    events: MemorySink,
) -> None:
    def body() -> Any:
        payload = {"numbers": [1, 2, (3, 4)], "name": "x"}
        return echo.submit(payload).result() is payload

    assert run_in_flow(body) is True
    assert events.dependencies() == []


# -- flows and the futures they submit --------------------------------------------------------


def test_a_flow_returning_a_failed_and_a_completed_future_fails_as_one_of_two() -> None:
    @flow
    def returns_futures() -> Any:
        return explode.submit(1), double.submit(2)

    state = returns_futures(return_state=True)
    assert state.is_failed()
    assert state.message == "1/2 states failed."


def test_a_flow_returning_only_completed_futures_is_completed_with_all_states_completed() -> None:
    @flow
    def returns_futures() -> Any:
        return [double.submit(1), double.submit(2)]

    state = returns_futures(return_state=True)
    assert state.is_completed()
    assert state.message == "All states completed."


def test_a_flow_returning_a_single_failed_future_fails() -> None:
    @flow
    def returns_future() -> Any:
        return explode.submit(1)

    state = returns_future(return_state=True)
    assert state.is_failed()


def test_a_flow_returning_a_mapped_future_list_aggregates_its_states() -> None:
    @flow
    def returns_map() -> Any:
        return explode.map([1, 2])

    state = returns_map(return_state=True)
    assert state.is_failed()
    assert state.message == "2/2 states failed."


def test_a_flow_returning_futures_inside_a_dict_hands_back_their_final_states() -> None:
    # Prefect's handle_success runs resolve_futures_to_states over the whole return value
    # (visit_collection: dicts and nested collections too); dicts are not aggregated.
    @flow
    def returns_a_dict() -> Any:
        return {"good": double.submit(1), "nested": [[double.submit(2)]]}

    state = returns_a_dict(return_state=True)
    assert state.is_completed()
    value = state.result()
    assert isinstance(value["good"], State) and value["good"].result() == 2
    assert isinstance(value["nested"][0][0], State)


def test_a_flow_records_its_unawaited_runs_final_states_before_its_own(
    events: MemorySink,
) -> None:
    body_returned = threading.Event()

    @task
    def outlives_the_flow_body() -> bool:
        return body_returned.wait(GATE_LIMIT)

    @flow
    def fire_and_forget() -> None:
        outlives_the_flow_body.submit()
        body_returned.set()

    state = fire_and_forget(return_state=True)
    assert state.is_completed()
    (task_run,) = events.task_runs()
    assert events.final_state(task_run.task_run_id).result() is True  # type: ignore[union-attr]
    positions = {
        (r.run_id, r.state.name): i for i, r in enumerate(events.records)
        if isinstance(r, StateChanged)
    }
    flow_id = events.flow_runs()[0].flow_run_id
    assert positions[(task_run.task_run_id, "Completed")] < positions[(flow_id, "Completed")]


def test_a_flow_with_an_unawaited_failed_future_still_completes(events: MemorySink) -> None:
    @flow
    def ignores_failure() -> str:
        explode.submit(1)
        return "fine"

    state = ignores_failure(return_state=True)
    assert state.is_completed()
    assert state.result() == "fine"
    (task_run,) = events.task_runs()
    assert events.final_state(task_run.task_run_id).is_failed()  # type: ignore[union-attr]


def test_a_flow_that_catches_a_failed_futures_exception_ends_completed() -> None:
    @flow
    def catches() -> str:
        try:
            explode.submit(1).result()
        except KeyError as exc:
            return f"caught {exc!r}"
        return "not reached"

    state = catches(return_state=True)
    assert state.is_completed()
    assert state.result() == "caught KeyError(1)"


# -- chains and fan-in ------------------------------------------------------------------------


def test_a_chain_of_fifty_dependent_tasks_completes_on_a_single_worker(
    events: MemorySink,
) -> None:
    @task
    def increment(x: int) -> int:
        return x + 1

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=1))
    def chain() -> int:
        future = increment.submit(0)
        for _ in range(49):
            future = increment.submit(future)
        return future.result()

    assert chain() == 50
    assert len(events.task_runs()) == 50
    assert len(events.dependencies()) == 49


def test_a_hundred_futures_fan_in_to_one_task(events: MemorySink) -> None:
    @flow
    def fan_in() -> Any:
        parts = [double.submit(i) for i in range(100)]
        summed = total.submit(parts)
        return summed.result(), summed.task_run_id, {p.task_run_id for p in parts}

    result, summed_id, part_ids = fan_in()
    assert result == sum(2 * i for i in range(100))
    edges = [e for e in events.dependencies() if e.task_run_id == summed_id]
    assert {e.upstream_run_id for e in edges} == part_ids
    assert {e.parameter for e in edges} == {"values"}


def test_a_mapped_future_list_fans_in_to_one_task() -> None:
    def body() -> Any:
        return total.submit(double.map(range(10))).result()

    assert run_in_flow(body) == 90


# -- context across threads -------------------------------------------------------------------


@task
def run_facts() -> dict[str, Any]:
    return {
        "flow_run_id": runtime.flow_run.id,
        "task_run_id": runtime.task_run.id,
        "task_run_name": runtime.task_run.name,
        "tags": runtime.task_run.tags,
        "thread": threading.current_thread().name,
    }


def test_submitted_tasks_see_their_flow_run_and_task_run_from_a_worker_thread(
    events: MemorySink,
) -> None:
    @flow
    def reads_context() -> Any:
        future = run_facts.submit()
        return future.result(), future.task_run_id, runtime.flow_run.id

    facts, task_run_id, flow_run_id = reads_context()
    assert facts["thread"] != threading.current_thread().name
    assert facts["flow_run_id"] == flow_run_id
    assert facts["task_run_id"] == str(task_run_id)
    assert facts["task_run_name"] == events.run_name(task_run_id)
    assert facts["task_run_name"].startswith("run_facts-")


def test_a_task_run_name_template_is_visible_in_the_worker_thread() -> None:
    @task(task_run_name="item-{x}")
    def own_name(x: int) -> str:
        return runtime.task_run.name

    assert run_in_flow(lambda: own_name.submit(7).result()) == "item-7"


def test_tags_active_at_submission_and_the_tasks_own_tags_reach_the_worker() -> None:
    tagged = run_facts.with_options(tags=["own"])

    def body() -> Any:
        with tags("outer"), tags("inner"):
            future = tagged.submit()
        untagged = run_facts.submit()
        return future.result()["tags"], untagged.result()["tags"]

    assert run_in_flow(body) == (["inner", "outer", "own"], [])


def test_print_in_a_submitted_task_of_a_log_prints_flow_becomes_a_log_record(
    events: MemorySink,
) -> None:
    @task
    def prints() -> None:
        print("hello from a worker thread")

    @flow(log_prints=True)
    def printing_flow() -> Any:
        future = prints.submit()
        future.wait()
        return future.task_run_id

    task_run_id = printing_flow()
    assert "hello from a worker thread" in events.messages(task_run_id)


def test_emitting_from_many_worker_threads_loses_no_record(events: MemorySink) -> None:
    @flow(task_runner=ThreadPoolTaskRunner(max_workers=32))
    def many() -> int:
        return len(double.map(range(500)).result())

    assert many() == 500
    task_runs = events.task_runs()
    assert len(task_runs) == 500
    assert len({r.task_run_id for r in task_runs}) == 500
    ids = {r.task_run_id for r in task_runs}
    task_states = [r for r in events.of_type(StateChanged) if r.run_id in ids]
    assert len(task_states) == 1500
    for run_id in ids:
        assert events.state_names(run_id) == ["Pending", "Running", "Completed"]


# -- async ------------------------------------------------------------------------------------


@task
async def async_double(x: int) -> int:
    await asyncio.sleep(0)
    return x * 2


def test_submit_and_map_work_from_an_async_flow() -> None:
    @flow
    async def async_flow() -> Any:
        single = double.submit(1)
        mapped = double.map([2, 3])
        return single.result(), mapped.result()

    assert asyncio.run(async_flow()) == (2, [4, 6])


def test_async_tasks_submitted_from_a_sync_flow_run_to_completion(events: MemorySink) -> None:
    def body() -> Any:
        single = async_double.submit(5)
        downstream = async_double.submit(single)
        return single.result(), downstream.result(), async_double.map([1, 2]).result()

    assert run_in_flow(body) == (10, 20, [2, 4])
    for run in events.task_runs():
        assert events.state_names(run.task_run_id) == ["Pending", "Running", "Completed"]


def test_async_tasks_submitted_from_an_async_flow_run_to_completion() -> None:
    @flow
    async def async_flow() -> Any:
        futures = [async_double.submit(i) for i in range(3)]
        return [f.result() for f in futures]

    assert asyncio.run(async_flow()) == [0, 2, 4]


def test_a_failing_async_submitted_task_raises_its_own_exception_from_result() -> None:
    @task
    async def async_explode() -> None:
        await asyncio.sleep(0)
        raise LookupError("async boom")

    def body() -> Any:
        with pytest.raises(LookupError, match="async boom"):
            async_explode.submit().result()
        return True

    assert run_in_flow(body)


def test_each_submitted_async_task_runs_on_a_loop_of_its_own_worker() -> None:
    # One shared loop would let one blocked task stall all the others (issue: the hangs).
    @task
    async def loop_and_thread() -> tuple[int, int]:
        await asyncio.sleep(0)
        return id(asyncio.get_running_loop()), threading.get_ident()

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=4))
    def sync_flow() -> list[tuple[int, int]]:
        return [f.result() for f in [loop_and_thread.submit() for _ in range(20)]]

    pairs = sync_flow()
    threads_of_loop: dict[int, set[int]] = {}
    for loop, thread in pairs:
        threads_of_loop.setdefault(loop, set()).add(thread)
    assert all(len(threads) == 1 for threads in threads_of_loop.values())


def test_submitted_async_tasks_run_concurrently_in_their_workers() -> None:
    barrier = threading.Barrier(2, timeout=GATE_LIMIT)

    @task
    async def meet(me: int) -> int:
        await asyncio.to_thread(barrier.wait)  # both must be running at once to get past it
        return me

    def body() -> Any:
        first = meet.submit(1)
        second = meet.submit(2)
        return first.result(), second.result()

    assert run_in_flow(body) == (1, 2)


def test_a_submitted_future_is_a_task_run_future() -> None:
    assert run_in_flow(lambda: isinstance(double.submit(1), TaskRunFuture))


def test_waiting_for_a_run_inside_a_pool_worker_warns_about_deadlock_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import headwater.core.futures as futures_module

    monkeypatch.setattr(futures_module, "_warned_nested_wait", False)

    @task
    def child() -> int:
        time.sleep(0.02)  # still running when the parent starts waiting for it
        return 1

    @task
    def parent() -> int:
        return sum(child.submit().result() for _ in range(3))

    @flow
    def nested() -> int:
        return parent.submit().result()

    assert nested() == 3
    warnings = [r for r in caplog.records if "waiting for another task run" in r.getMessage()]
    assert len(warnings) == 1
