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
