"""`.map`: which arguments are mapped, how they line up, and what each mapped run receives.

Prefect's rules (prefect_semantics §3.4): iterables are mapped element by element and must
have equal lengths; `unmapped(x)` goes to every run; `str`/`bytes` are not mapped; a dict is
mapped over its keys; annotations (`quote`, `allow_failure`) are unwrapped to decide whether
the value is iterable, then re-wrapped around each element.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from headwater import flow, runtime, task
from headwater.core.annotations import allow_failure, quote, unmapped
from headwater.core.futures import TaskRunFutureList
from headwater.errors import MappingLengthMismatch, MappingMissingIterable
from headwater.events.memory import MemorySink


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def double(x: int) -> int:
    return x * 2


@task
def echo(value: Any) -> Any:
    return value


@task
def explode(x: int) -> int:
    raise KeyError(x)


@task
def numbers(n: int) -> list[int]:
    return list(range(n))


@task
def echo_pair(x: Any, other: Any) -> tuple[Any, Any]:
    return x, other


def run_in_flow(body: Any) -> Any:
    """Run `body()` as the body of a fresh flow and return what it returned (via a box, so
    futures in it do not decide the flow's final state)."""
    box: dict[str, Any] = {}

    @flow
    def body_flow() -> None:
        box["value"] = body()

    body_flow()
    return box["value"]


def mapped(body: Any) -> Any:
    """The results of the future list `body()` returns, collected inside the flow."""
    return run_in_flow(lambda: body().result())


# -- what is mapped ---------------------------------------------------------------------------


def test_equal_length_iterables_are_mapped_element_by_element() -> None:
    assert mapped(lambda: add.map([1, 2, 3], [10, 20, 30])) == [11, 22, 33]


def test_map_returns_a_future_list_with_one_future_per_element(events: MemorySink) -> None:
    futures = run_in_flow(lambda: double.map([1, 2, 3]))
    assert isinstance(futures, TaskRunFutureList)
    assert len(futures) == 3
    assert [f.result() for f in futures] == [2, 4, 6]
    assert len(events.task_runs()) == 3


def test_iterables_of_different_lengths_raise_a_mismatch_naming_each_length() -> None:
    def body() -> Any:
        with pytest.raises(MappingLengthMismatch) as raised:
            add.map([1, 2], [1, 2, 3])
        return raised.value

    error = run_in_flow(body)
    assert isinstance(error, ValueError)
    message = str(error)
    assert "Got lengths: {'x': 2, 'y': 3}" in message
    assert "unmapped" in message


def test_a_length_mismatch_creates_no_task_runs(events: MemorySink) -> None:
    def body() -> None:
        with pytest.raises(MappingLengthMismatch):
            add.map([1, 2], [1, 2, 3])

    run_in_flow(body)
    assert events.task_runs() == []


def test_no_iterable_argument_raises_missing_iterable() -> None:
    def body() -> Any:
        with pytest.raises(MappingMissingIterable) as raised:
            add.map(1, 2)
        return raised.value

    error = run_in_flow(body)
    assert isinstance(error, ValueError)
    assert "No iterable parameters were received" in str(error)
    assert "'x': 1" in str(error)


def test_a_string_is_not_mapped_over_and_goes_to_every_run() -> None:
    @task
    def join(prefix: str, n: int) -> str:
        return f"{prefix}{n}"

    assert mapped(lambda: join.map("id-", [1, 2])) == ["id-1", "id-2"]


def test_a_string_alone_is_not_enough_to_map() -> None:
    def body() -> Any:
        with pytest.raises(MappingMissingIterable):
            echo.map("abc")
        with pytest.raises(MappingMissingIterable):
            echo.map(b"abc")
        return True

    assert run_in_flow(body)


def test_unmapped_sends_the_whole_value_to_every_run() -> None:
    @task
    def size_plus(x: int, items: list[int]) -> int:
        return x + len(items)

    assert mapped(lambda: size_plus.map([1, 2, 3], unmapped([7, 8]))) == [3, 4, 5]


def test_unmapped_matches_the_seed_example() -> None:
    @task
    def add_together(x: int, y: int) -> int:
        return x + y

    @flow
    def map_flow(nums: list[int], k: list[int]) -> list[int]:
        return add_together.map(nums, unmapped(sum(k))).result()

    assert map_flow([4, 5, 6], [1, 2, 3]) == [10, 11, 12]


def test_a_non_iterable_argument_goes_to_every_run() -> None:
    assert mapped(lambda: add.map([1, 2], 100)) == [101, 102]


def test_keyword_arguments_are_mapped_too() -> None:
    assert mapped(lambda: add.map(x=[1, 2], y=[10, 20])) == [11, 22]
    assert mapped(lambda: add.map([1, 2], y=[10, 20])) == [11, 22]


def test_a_dict_is_mapped_over_its_keys() -> None:
    assert mapped(lambda: echo.map({"a": 1, "b": 2})) == ["a", "b"]


def test_a_set_is_mapped_over_its_elements() -> None:
    assert sorted(mapped(lambda: double.map({1, 2, 3}))) == [2, 4, 6]


def test_a_tuple_a_range_and_a_generator_are_mapped() -> None:
    def generate() -> Iterator[int]:
        yield from (5, 6)

    assert mapped(lambda: double.map((1, 2))) == [2, 4]
    assert mapped(lambda: double.map(range(3))) == [0, 2, 4]
    assert mapped(lambda: double.map(generate())) == [10, 12]


def test_a_generator_is_mapped_alongside_a_list_of_the_same_length() -> None:
    assert mapped(lambda: add.map((i for i in range(3)), [10, 20, 30])) == [10, 21, 32]


def test_a_map_over_an_empty_list_gives_an_empty_list_and_no_runs(events: MemorySink) -> None:
    def body() -> Any:
        futures = double.map([])
        return futures, futures.result()

    futures, results = run_in_flow(body)
    assert isinstance(futures, TaskRunFutureList)
    assert futures == []
    assert results == []
    assert events.task_runs() == []


# -- futures and mapping ----------------------------------------------------------------------


def test_a_map_over_a_future_whose_result_is_a_list_maps_over_that_list() -> None:
    assert mapped(lambda: double.map(numbers.submit(4))) == [0, 2, 4, 6]


def test_every_child_of_a_map_over_a_future_records_it_as_a_wait_for_dependency(
    events: MemorySink,
) -> None:
    def body() -> Any:
        upstream = numbers.submit(3)
        children = double.map(upstream)
        children.wait()
        return upstream.task_run_id, [c.task_run_id for c in children]

    upstream_id, child_ids = run_in_flow(body)
    edges = [(e.task_run_id, e.upstream_run_id, e.parameter) for e in events.dependencies()]
    assert sorted(edges, key=str) == sorted(
        [(child, upstream_id, "wait_for") for child in child_ids], key=str
    )


def test_a_list_of_futures_is_mapped_with_each_child_depending_on_its_own_element(
    events: MemorySink,
) -> None:
    def body() -> Any:
        parents = [double.submit(i) for i in range(3)]
        children = double.map(parents)
        return children.result(), [p.task_run_id for p in parents], [
            c.task_run_id for c in children
        ]

    results, parent_ids, child_ids = run_in_flow(body)
    assert results == [0, 4, 8]
    edges = {(e.task_run_id, e.upstream_run_id, e.parameter) for e in events.dependencies()}
    assert edges == {
        (child, parent, "x") for child, parent in zip(child_ids, parent_ids, strict=True)
    }


def test_a_mapped_future_list_can_be_mapped_again() -> None:
    assert mapped(lambda: double.map(double.map([1, 2, 3]))) == [4, 8, 12]


def test_an_unmapped_future_is_resolved_for_every_run_and_recorded_for_each(
    events: MemorySink,
) -> None:
    def body() -> Any:
        offset = double.submit(50)
        children = add.map([1, 2], unmapped(offset))
        return children.result(), offset.task_run_id, [c.task_run_id for c in children]

    results, offset_id, child_ids = run_in_flow(body)
    assert results == [101, 102]
    edges = {(e.task_run_id, e.upstream_run_id, e.parameter) for e in events.dependencies()}
    assert edges == {(child, offset_id, "y") for child in child_ids}


def test_wait_for_on_a_map_applies_to_every_child(events: MemorySink) -> None:
    def body() -> Any:
        first = double.submit(1)
        children = double.map([1, 2], wait_for=[first])
        children.wait()
        return first.task_run_id, [c.task_run_id for c in children]

    first_id, child_ids = run_in_flow(body)
    edges = {(e.task_run_id, e.upstream_run_id, e.parameter) for e in events.dependencies()}
    assert edges == {(child, first_id, "wait_for") for child in child_ids}


def test_a_failed_element_leaves_only_its_own_child_not_ready() -> None:
    def body() -> Any:
        parents = [double.submit(1), explode.submit(2), double.submit(3)]
        children = double.map(parents)
        children.wait()
        return [c.state.name for c in children]

    assert run_in_flow(body) == ["Completed", "NotReady", "Completed"]


# -- annotations ------------------------------------------------------------------------------


def test_quote_of_a_list_is_mapped_with_each_element_passed_untouched(
    events: MemorySink,
) -> None:
    # Prefect unwraps quote to decide whether the value is iterable, then re-wraps each
    # element: the list is mapped, and each child gets its element unresolved.
    def body() -> Any:
        upstreams = [double.submit(1), double.submit(2)]
        received = echo.map(quote(upstreams)).result()
        return [r is u for r, u in zip(received, upstreams, strict=True)], len(received)

    same_objects, count = run_in_flow(body)
    assert count == 2
    assert same_objects == [True, True]
    assert events.dependencies() == []


def test_quote_of_a_non_iterable_goes_to_every_run_untouched(events: MemorySink) -> None:
    def body() -> Any:
        upstream = double.submit(1)
        pairs = echo_pair.map([1, 2], quote(upstream)).result()
        return [x for x, _ in pairs], [other is upstream for _, other in pairs]

    xs, same = run_in_flow(body)
    assert xs == [1, 2]
    assert same == [True, True]
    assert events.dependencies() == []


def test_allow_failure_of_a_list_wraps_each_element() -> None:
    def body() -> Any:
        upstreams = [double.submit(1), explode.submit(2)]
        return echo.map(allow_failure(upstreams)).result()

    good, error = run_in_flow(body)
    assert good == 2
    assert isinstance(error, KeyError)


def test_allow_failure_of_a_single_failed_future_goes_to_every_run() -> None:
    def body() -> Any:
        bad = explode.submit(9)
        return echo_pair.map([1, 2], allow_failure(bad)).result()

    pairs = run_in_flow(body)
    assert [x for x, _ in pairs] == [1, 2]
    assert all(isinstance(error, KeyError) for _, error in pairs)


# -- what each child receives -----------------------------------------------------------------


def test_parameter_defaults_are_filled_in_for_every_child(events: MemorySink) -> None:
    @task
    def scaled(x: int, factor: int = 10) -> int:
        return x * factor

    assert mapped(lambda: scaled.map([1, 2])) == [10, 20]
    assert [r.parameters for r in events.task_runs()] == [
        {"x": 1, "factor": 10}, {"x": 2, "factor": 10},
    ]


def test_var_keyword_arguments_are_mapped_per_key() -> None:
    @task
    def collect(**kwargs: int) -> dict[str, int]:
        return kwargs

    assert mapped(lambda: collect.map(a=[1, 2], b=[3, 4])) == [
        {"a": 1, "b": 3}, {"a": 2, "b": 4},
    ]


def test_var_keyword_arguments_mix_mapped_unmapped_and_static_values() -> None:
    @task
    def collect(x: int, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return x, kwargs

    assert mapped(lambda: collect.map([1, 2], k=[5, 6], fixed=unmapped([0]), label="s")) == [
        (1, {"k": 5, "fixed": [0], "label": "s"}),
        (2, {"k": 6, "fixed": [0], "label": "s"}),
    ]


def test_task_run_name_templates_are_resolved_per_mapped_call(events: MemorySink) -> None:
    @task(task_run_name="square-{x}")
    def square(x: int) -> str:
        return runtime.task_run.name

    assert mapped(lambda: square.map([1, 2, 3])) == ["square-1", "square-2", "square-3"]
    assert sorted(r.name for r in events.task_runs()) == ["square-1", "square-2", "square-3"]


def test_map_with_return_state_gives_one_final_state_per_element() -> None:
    def body() -> Any:
        return double.map([1, 2], return_state=True), explode.map([1], return_state=True)

    completed, failed = run_in_flow(body)
    assert [s.result() for s in completed] == [2, 4]
    assert [s.name for s in failed] == ["Failed"]


# -- compact futures: a final element keeps only what its future answers with ------------------


def test_a_final_mapped_future_keeps_no_task_run_yet_answers_with_its_recorded_state(
    events: MemorySink,
) -> None:
    futures = run_in_flow(lambda: double.map([1, 2, 3]))
    assert all(future.done() for future in futures)
    for future, expected in zip(futures, [2, 4, 6], strict=True):
        assert future.task_run is None
        assert future.result() == expected
        recorded = events.final_state(future.task_run_id)
        state = future.state
        assert (state.type, state.name, state.message) == (
            recorded.type, recorded.name, recorded.message)
        assert state.timestamp == recorded.timestamp
        assert state.result() == expected
        details = state.state_details
        assert details.task_run_id == future.task_run_id
        assert details.flow_run_id == recorded.state_details.flow_run_id
        assert details.run_count == recorded.state_details.run_count == 1
    assert sorted(r.task_run_id for r in events.task_runs()) == sorted(
        f.task_run_id for f in futures)


def test_a_mapped_future_answers_the_same_before_and_after_its_run_is_final() -> None:
    import threading

    release = threading.Event()

    @task
    def held(x: int) -> int:
        release.wait(10)
        return x

    def body() -> Any:
        futures = held.map([1, 2])
        before = [(f.task_run_id, f.done(), f.task_run is not None) for f in futures]
        release.set()
        return before, futures.result(), futures

    before, results, futures = run_in_flow(body)
    assert [b[0] for b in before] == [f.task_run_id for f in futures]
    assert [b[1:] for b in before] == [(False, True), (False, True)]
    assert results == [1, 2]
    assert "state=Completed" in repr(futures[0])


def test_failed_elements_of_a_map_keep_their_failed_state_and_exception() -> None:
    @task
    def odd_fails(x: int) -> int:
        if x % 2:
            raise ValueError(x)
        return x

    def body() -> Any:
        futures = odd_fails.map([0, 1, 2, 3])
        with pytest.raises(ValueError):
            futures.result()
        return futures, futures.result(raise_on_failure=False)

    futures, results = run_in_flow(body)
    assert [f.state.name for f in futures] == ["Completed", "Failed", "Completed", "Failed"]
    assert results[0] == 0 and results[2] == 2
    assert isinstance(results[1], ValueError) and results[1].args == (1,)
    with pytest.raises(ValueError):
        futures[3].result()
    assert isinstance(futures[3].result(raise_on_failure=False), ValueError)


def test_a_map_list_a_user_changed_gathers_the_futures_it_now_holds() -> None:
    def body() -> Any:
        futures = double.map([1, 2, 3])
        futures[1] = double.submit(50)
        futures.append(double.submit(60))
        futures.wait()
        return futures.result()

    assert run_in_flow(body) == [2, 100, 6, 120]


def test_map_futures_work_with_wait_as_completed_and_as_upstreams() -> None:
    from headwater.futures import as_completed, wait

    def body() -> Any:
        futures = double.map([1, 2, 3])
        done, not_done = wait(futures)
        completed = sorted(f.result() for f in as_completed(futures))
        again = double.map(futures, wait_for=futures[:1]).result()
        callbacks: list[int] = []
        futures[0].add_done_callback(lambda f: callbacks.append(f.result()))
        wrapped = futures[2].wrapped_future.result(5).result()
        return len(done), len(not_done), completed, again, callbacks, wrapped

    assert run_in_flow(body) == (3, 0, [2, 4, 6], [4, 8, 12], [2], 6)


def test_mapped_calls_are_made_one_at_a_time_and_match_expand() -> None:
    from headwater.core.mapping import MappedCalls, expand

    parameters = {"x": [1, 2, 3], "y": unmapped([9]), "z": 7}
    calls = MappedCalls(parameters)
    assert len(calls) == 3
    assert list(calls) == expand(parameters) == [
        {"y": [9], "z": 7, "x": 1}, {"y": [9], "z": 7, "x": 2}, {"y": [9], "z": 7, "x": 3}]
    assert calls[-1] == calls[2] == {"y": [9], "z": 7, "x": 3}
    assert calls[1:] == expand(parameters)[1:]
    assert calls[0] is not calls[0]  # made when asked for, not kept
    with pytest.raises(IndexError):
        calls[3]
    assert calls.any_value(lambda v: v == [9]) and not calls.any_value(lambda v: v == 4)


def test_a_map_result_raises_the_first_failure_to_finish_without_waiting_for_the_rest() -> None:
    import threading

    release = threading.Event()

    @task
    def slow_or_failing(x: int) -> int:
        if x:
            raise KeyError(x)
        release.wait(10)
        return x

    def body() -> Any:
        futures = slow_or_failing.map([0, 1])
        with pytest.raises(KeyError):
            futures.result()
        still_running = not futures[0].done()
        release.set()
        return still_running, futures[0].result()

    assert run_in_flow(body) == (True, 0)


def test_a_flow_waits_for_every_run_of_a_map_it_does_not_wait_for(events: MemorySink) -> None:
    import time

    @task
    def sleepy(x: int) -> int:
        time.sleep(0.05)
        return x

    run_in_flow(lambda: sleepy.map([1, 2, 3]) and None)
    runs = [r.task_run_id for r in events.task_runs()]
    assert len(runs) == 3
    assert [events.final_state(run).name for run in runs] == ["Completed"] * 3


def test_a_map_over_another_maps_futures_is_kept_compactly_too(events: MemorySink) -> None:
    def body() -> Any:
        first = double.map([1, 2, 3])
        second = double.map(first)
        return second, second.result()

    second, results = run_in_flow(body)
    assert results == [4, 8, 12]
    assert all(future.task_run is None for future in second)
    assert [future.state.name for future in second] == ["Completed"] * 3
    upstreams = {d.task_run_id for d in events.dependencies()}
    assert upstreams == {future.task_run_id for future in second}
