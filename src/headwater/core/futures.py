"""Futures for submitted task runs, and `wait` / `as_completed` over them.

`.submit` and `.map` hand back `TaskRunFuture`s: a task run plus a `concurrent.futures.Future`
that completes with the run's outcome (an object with the final `state`), whichever runner ran
it: waiting works the same everywhere.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, NamedTuple, TypeVar
from uuid import UUID

from headwater.core.runs import TaskRun
from headwater.core.states import Failed, State

R = TypeVar("R")


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and timeout < 0:
        raise ValueError(f"'timeout' must be a non-negative number, got {timeout!r}")


class TaskRunFuture(Generic[R]):
    """The eventual outcome of a submitted task run.

    Attributes:
        task_run_id: the run's id, known as soon as the task is submitted.
        task_run: the run object, updated as the run advances.
    """

    __slots__ = ("_future", "task_run")

    def __init__(self, task_run: TaskRun, future: cf.Future[Any]) -> None:
        self.task_run = task_run
        self._future = future

    @property
    def task_run_id(self) -> UUID:
        return self.task_run.id

    @property
    def state(self) -> State:
        """The final state once the run is done, else the state it is in now."""
        future = self._future
        if not future.done():
            return self.task_run.state
        return _final_state(future)

    @property
    def wrapped_future(self) -> cf.Future[State]:
        """A `concurrent.futures.Future` of the run's final State (Prefect's name)."""
        states: cf.Future[State] = cf.Future()
        self._future.add_done_callback(lambda _: states.set_result(self.state))
        return states

    def done(self) -> bool:
        return self._future.done()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the run is final, or `timeout` seconds pass. Never raises."""
        _check_timeout(timeout)
        if not self._future.done():
            _note_wait_in_worker()
            cf.wait([self._future], timeout=timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> R:
        """The run's return value, waiting for it if needed.

        Raises:
            TimeoutError: the run did not finish within `timeout` seconds.
            Exception: the task's own exception, if it failed and `raise_on_failure`.
        """
        future = self._future
        if not future.done():  # a done future (the common case) needs no waiter
            _check_timeout(timeout)
            _note_wait_in_worker()
            cf.wait([future], timeout=timeout)
            if not future.done():
                raise TimeoutError(
                    f"Task run {self.task_run_id} did not complete within {timeout} seconds"
                )
        elif timeout is not None:
            _check_timeout(timeout)
        return _final_state(future)._result(  # type: ignore[no-any-return]
            raise_on_failure=raise_on_failure)

    def add_done_callback(self, fn: Callable[[TaskRunFuture[R]], Any]) -> None:
        """Call `fn(future)` when the run is final (at once if it already is)."""
        self._future.add_done_callback(lambda _: fn(self))

    def __repr__(self) -> str:
        return f"TaskRunFuture(task_run={self.task_run.name!r}, state={self.state!s})"


def _final_state(future: cf.Future[Any]) -> State:
    """The final state a done runner future holds: its outcome's, or a `Failed` state saying
    the runner itself failed (a worker or the cluster was lost)."""
    try:
        state: State = future.result(0).state
    except cf.CancelledError:
        raise
    except BaseException as exc:
        return Failed(message=f"Task run could not be executed: {exc!r}", data=exc)
    return state


WORKER_THREAD_PREFIX = "headwater-task"
_warned_nested_wait = False


def _note_wait_in_worker() -> None:
    """Warn (once per process) when a task run blocks a pool worker waiting for another run.

    A task that submits work and then waits for it holds its worker thread; if every worker
    does that, nothing is left to run the work they wait for, and the pool deadlocks.
    """
    global _warned_nested_wait
    if _warned_nested_wait or not threading.current_thread().name.startswith(
        WORKER_THREAD_PREFIX
    ):
        return
    _warned_nested_wait = True
    import logging

    logging.getLogger("headwater.runners").warning(
        "A task run is waiting for another task run from inside a worker thread. Each such "
        "wait holds a worker; if all of them wait, the pool deadlocks. Return the future to "
        "the flow and wait there, or raise ThreadPoolTaskRunner(max_workers=...)."
    )


class TaskRunFutureList(list):  # type: ignore[type-arg]
    """What `.map` returns: a list of futures with `wait()` and `result()` for all of them."""

    def wait(self, timeout: float | None = None) -> None:
        """Block until every run is final, or `timeout` seconds pass. Never raises."""
        wait(self, timeout=timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> list[Any]:
        """Every run's result, in input order; raises on the first failure to finish.

        Raises:
            TimeoutError: not all runs finished within `timeout` seconds.
        """
        _check_timeout(timeout)
        if all(future.done() for future in self):  # nothing to wait for: skip the waiters
            return [future.result(raise_on_failure=raise_on_failure) for future in self]
        try:
            for future in as_completed(self, timeout=timeout):
                if raise_on_failure:
                    future.result(raise_on_failure=True)
        except _WaitTimeout:
            raise TimeoutError(
                f"Timed out waiting for all futures to complete within {timeout} seconds"
            ) from None
        return [future.result(raise_on_failure=raise_on_failure) for future in self]


class DoneAndNotDoneFutures(NamedTuple):
    done: set[TaskRunFuture[Any]]
    not_done: set[TaskRunFuture[Any]]


def wait(
    futures: Iterable[TaskRunFuture[Any]], timeout: float | None = None
) -> DoneAndNotDoneFutures:
    """Wait for futures to finish; never raises on timeout.

    Returns:
        `(done, not_done)`, two sets of futures.
    """
    _check_timeout(timeout)
    unique = {id(f): f for f in futures}
    by_inner = {f._future: f for f in unique.values()}
    done, not_done = cf.wait(list(by_inner), timeout=timeout)
    return DoneAndNotDoneFutures({by_inner[f] for f in done}, {by_inner[f] for f in not_done})


class _WaitTimeout(TimeoutError):
    pass


def as_completed(
    futures: Iterable[TaskRunFuture[Any]], timeout: float | None = None
) -> Iterator[TaskRunFuture[Any]]:
    """Yield futures as their runs finish, those already done first.

    Raises:
        TimeoutError: some runs did not finish within `timeout` seconds.
    """
    _check_timeout(timeout)
    unique = {id(f): f for f in futures}
    by_inner = {f._future: f for f in unique.values()}
    try:
        for inner in cf.as_completed(list(by_inner), timeout=timeout):
            yield by_inner[inner]
    except cf.TimeoutError:
        unfinished = sum(1 for f in by_inner if not f.done())
        raise _WaitTimeout(f"{unfinished} (of {len(by_inner)}) futures unfinished") from None


class PendingRuns:
    """Counts a flow run's submitted task runs that have not finished, so it can wait for them.

    Finished futures are dropped at once, so a flow that maps 100,000 tasks does not keep
    100,000 futures alive just to wait for them.
    """

    __slots__ = ("_count", "_lock", "_waiters")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._waiters: list[cf.Future[None]] = []

    def add(self, future: cf.Future[Any]) -> None:
        with self._lock:
            self._count += 1
        future.add_done_callback(self._one_done)

    def _one_done(self, _: cf.Future[Any]) -> None:
        with self._lock:
            self._count -= 1
            if self._count:
                return
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.set_result(None)

    @property
    def count(self) -> int:
        return self._count

    def all_done(self) -> cf.Future[None]:
        """A future that completes once every run added so far has finished."""
        waiter: cf.Future[None] = cf.Future()
        with self._lock:
            if self._count:
                self._waiters.append(waiter)
                return waiter
        waiter.set_result(None)
        return waiter
