"""`prefect.futures` classes and resolvers, as Prefect 3.9.1 has them."""

from __future__ import annotations

import concurrent.futures
import dataclasses
from typing import Any

import pytest

from headwater import flow, task
from headwater.compat.futures import (
    PrefectConcurrentFuture,
    PrefectFuture,
    PrefectTaskRunFuture,
    PrefectWrappedFuture,
    resolve_futures_to_results,
    resolve_futures_to_states,
)
from headwater.core.annotations import quote


@pytest.fixture(autouse=True)
def _memory_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_STORE", "memory")


@task
def add(x: int, y: int = 1) -> int:
    return x + y


@task
def bad() -> None:
    raise KeyError("k")


@dataclasses.dataclass
class Pair:
    left: Any
    right: Any


def test_a_submitted_future_is_each_of_prefects_thread_pool_future_classes() -> None:
    @flow
    def etl() -> list[bool]:
        future = add.submit(1)
        future.wait()
        wrapped = future.wrapped_future
        assert isinstance(wrapped, concurrent.futures.Future)
        assert wrapped.result().result() == 2
        return [isinstance(future, c) for c in (PrefectFuture, PrefectTaskRunFuture,
                                                PrefectWrappedFuture, PrefectConcurrentFuture)]

    assert etl() == [True] * 4


def test_resolvers_replace_futures_in_collections_and_dataclasses_but_not_quoted() -> None:
    @flow
    def etl() -> None:
        one, two = add.submit(1), add.submit(2)
        quoted = quote(one)
        data = {"list": [one], "tuple": (two,), "pair": Pair(one, 5), "quoted": quoted}
        assert resolve_futures_to_results(data) == {
            "list": [2], "tuple": (3,), "pair": Pair(2, 5), "quoted": quoted}
        states = resolve_futures_to_states([one, {two}])
        assert states[0].name == "Completed"
        assert [s.name for s in states[1]] == ["Completed"]
        assert resolve_futures_to_results(add.map([1, 2])) == [2, 3]
        assert resolve_futures_to_results("plain") == "plain"

    etl()


def test_resolving_a_failed_future_to_results_raises_a_bare_exception() -> None:
    @flow
    def etl() -> None:
        future = bad.submit()
        with pytest.raises(Exception, match="At least one result did not complete"):
            resolve_futures_to_results([future])
        assert resolve_futures_to_states(future).name == "Failed"

    etl()
