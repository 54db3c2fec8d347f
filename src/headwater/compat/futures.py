"""`prefect.futures` under the shim: Prefect's future classes, and resolving futures in data.

headwater has one future class, `TaskRunFuture`, whichever runner ran the task. Prefect has a
small tree of them; code written for Prefect checks `isinstance(f, PrefectFuture)` (or one of
the subclasses) and reads `f.wrapped_future`. So the Prefect names are abstract classes that
`TaskRunFuture` is registered with, in the places Prefect's thread-pool future has:

    PrefectFuture
    └── PrefectTaskRunFuture
        └── PrefectWrappedFuture            .wrapped_future
            └── PrefectConcurrentFuture     what .submit hands back

`resolve_futures_to_states` / `resolve_futures_to_results` replace the futures found in lists,
tuples, sets, dict values and dataclass fields (not inside `quote(...)`) by their final states
or results, waiting for them.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, Generic, TypeVar

from headwater.core.annotations import quote
from headwater.core.futures import TaskRunFuture, TaskRunFutureList

R = TypeVar("R")


class PrefectFuture(abc.ABC, Generic[R]):
    """A handle to a run that may not have finished (abstract; see the module docs)."""

    @property
    @abc.abstractmethod
    def state(self) -> Any:
        """The run's current state."""

    @abc.abstractmethod
    def wait(self, timeout: float | None = None) -> None:
        """Wait for the run to finish, at most `timeout` seconds; never raises on timeout."""

    @abc.abstractmethod
    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> R:
        """The run's result, waiting for it."""

    @abc.abstractmethod
    def add_done_callback(self, fn: Any) -> None:
        """Call `fn(future)` once the run has finished."""


class PrefectTaskRunFuture(PrefectFuture[R]):
    """A future of a task run (`task_run_id`)."""


class PrefectWrappedFuture(PrefectTaskRunFuture[R]):
    """A task-run future backed by another future, `wrapped_future`."""


class PrefectConcurrentFuture(PrefectWrappedFuture[R]):
    """A task-run future backed by a `concurrent.futures.Future` (what `.submit` returns)."""


for _prefect_class in (PrefectFuture, PrefectTaskRunFuture, PrefectWrappedFuture,
                       PrefectConcurrentFuture):
    _prefect_class.register(TaskRunFuture)


def resolve_futures_to_states(expr: Any) -> Any:
    """`expr` with every future in it replaced by its final state (waiting for it)."""

    def state(future: TaskRunFuture[Any]) -> Any:
        future.wait()
        return future.state

    return _resolve(expr, state)


def resolve_futures_to_results(expr: Any) -> Any:
    """`expr` with every future in it replaced by its result (waiting for it).

    Raises:
        Exception: a future's run did not complete (Prefect raises a bare `Exception` too).
    """

    def result(future: TaskRunFuture[Any]) -> Any:
        future.wait()
        if not future.state.is_completed():
            raise Exception("At least one result did not complete successfully")
        return future.result()

    return _resolve(expr, result)


def _resolve(expr: Any, resolve: Any) -> Any:
    done: dict[int, Any] = {}

    def visit(value: Any) -> Any:
        if isinstance(value, TaskRunFuture):
            if id(value) not in done:
                done[id(value)] = resolve(value)
            return done[id(value)]
        if isinstance(value, quote):
            return value
        if isinstance(value, TaskRunFutureList):
            return [visit(v) for v in value]
        if isinstance(value, dict):
            return type(value)((k, visit(v)) for k, v in value.items())
        if isinstance(value, (list, set, frozenset)):
            return type(value)(visit(v) for v in value)
        if isinstance(value, tuple):
            items = [visit(v) for v in value]
            return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.replace(value, **{
                f.name: visit(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.init
            })
        return value

    return visit(expr)
