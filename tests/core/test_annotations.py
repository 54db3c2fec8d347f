"""Annotations are Prefect's one-element tuples; freeze reaches a task as its value."""

from __future__ import annotations

import pytest

from headwater import flow, task
from headwater.core.annotations import (
    BaseAnnotation,
    Quote,
    allow_failure,
    freeze,
    opaque,
    quote,
    unmapped,
)


@pytest.mark.parametrize("kind", [quote, unmapped, allow_failure, opaque, freeze])
def test_an_annotation_is_a_one_element_tuple(kind: type[BaseAnnotation[object]]) -> None:
    held = kind([1, 2])
    assert isinstance(held, tuple) and len(held) == 1 and tuple(held) == ([1, 2],)
    assert held.value == held.unwrap() == [1, 2]
    assert repr(held) == f"{kind.__name__}([1, 2])"
    assert type(held.rewrap(3)) is kind
    assert held == kind([1, 2]) and held != (([1, 2]),) and held != quote(0)


def test_unmapped_gives_its_value_for_any_index_and_unpacks_once() -> None:
    assert unmapped(5)[0] == unmapped(5)[99] == 5
    (only,) = unmapped(5)
    assert only == 5


def test_freeze_needs_json_and_a_task_receives_the_value() -> None:
    with pytest.raises(ValueError, match="JSON serializable"):
        freeze(object())
    assert freeze({"a": 1}).unfreeze() == {"a": 1}

    @task
    def show(x: object) -> object:
        return x

    @flow
    def etl() -> tuple[object, object]:
        return show(freeze(4)), show(quote(freeze(4)))

    assert etl() == (4, freeze(4))


def test_quote_with_a_capital_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning, match="Use `quote` instead"):
        assert isinstance(Quote(1), quote)
