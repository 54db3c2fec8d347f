"""Generator tasks: submitted, their items are collected into a list (as Prefect does); called
directly, the caller gets the generator. Whether a task is one is decided once, when the task
is made, looking through decorators that keep `__wrapped__`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from headwater import flow, task


def keeps_wrapped(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


@task
def numbers(n: int) -> Iterator[int]:
    yield from range(n)


@task
@keeps_wrapped
def wrapped_numbers(n: int) -> Iterator[int]:
    yield from range(n)


@task
def plain(n: int) -> list[int]:
    return list(range(n))


def test_a_submitted_generator_task_returns_the_list_of_its_items() -> None:
    @flow
    def f() -> tuple[Any, Any]:
        return numbers.submit(3).result(), numbers.map([1, 2]).result()

    assert f() == ([0, 1, 2], [[0], [0, 1]])


def test_a_generator_behind_a_decorator_that_keeps_wrapped_is_collected_too() -> None:
    @flow
    def f() -> Any:
        return wrapped_numbers.submit(2).result()

    assert f() == [0, 1]


def test_a_generator_task_called_directly_hands_its_generator_to_the_caller() -> None:
    @flow
    def f() -> list[int]:
        items = numbers(3)
        assert not isinstance(items, list)
        return list(items)

    assert f() == [0, 1, 2]


def test_a_task_that_returns_a_list_is_not_taken_for_a_generator() -> None:
    @flow
    def f() -> Any:
        return plain.submit(2).result()

    assert f() == [0, 1]
    assert numbers._isgenerator and wrapped_numbers._isgenerator and not plain._isgenerator
