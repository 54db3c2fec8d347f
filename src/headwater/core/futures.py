"""Futures for submitted task runs, and `wait` / `as_completed` over them.

`.submit` and `.map` hand back `TaskRunFuture`s: a task run plus a `concurrent.futures.Future`
that completes with the run's outcome (an object with the final `state`), whichever runner ran
it: waiting works the same everywhere.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from headwater.core.runs import TaskRun
from headwater.core.states import _NO_DATA, Failed, State, StateType, run_state

if TYPE_CHECKING:
    from uuid import UUID

R = TypeVar("R")


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and timeout < 0:
        raise ValueError(f"'timeout' must be a non-negative number, got {timeout!r}")


class TaskRunFuture(Generic[R]):
    """The eventual outcome of a submitted task run.

    Attributes:
        task_run_id: the run's id, known as soon as the task is submitted.
        task_run: the run object, updated as the run advances. For an element of a `.map`,
            only while the run is in flight: None once it is final (see `MapRuns`).
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
        if future._state is _FINISHED and timeout is None:  # the common case, in a straight line
            outcome = future._result
            if outcome is not None:
                state = outcome.state
                if state.type is _COMPLETED and state._data is not _NO_DATA:
                    return state._data  # type: ignore[no-any-return]
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


# How concurrent.futures marks a future that holds a result or an exception (compared by identity).
_FINISHED = cf._base.FINISHED
_COMPLETED = StateType.COMPLETED


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


_COMPLETED = StateType.COMPLETED


class _Settled(NamedTuple):
    """What a final map element's stand-in runner future holds: the `state` of an outcome."""

    state: State


class MapRuns:
    """The runs of one `.map`, kept compactly.

    While a run is in flight its element keeps the TaskRun and the runner's future. Once the
    run is final (its records are then in the flow run's sink), the element keeps only what
    `result`, `state` and `task_run_id` need: the id (16 bytes of one shared array) and either
    the return value and the time it completed (a plain `Completed` state, rebuilt when asked
    for) or the final State itself. A million-element map then holds its results, not a
    million TaskRuns, parameter dicts, States and runner futures.
    """

    __slots__ = ("_failures", "_ids", "_index_of", "_inner_of", "_odd", "_run_of", "_settle",
                 "_settled", "_times", "_values", "all_done", "count", "first_failure",
                 "flow_run_id")

    def __init__(self, count: int, flow_run_id: UUID | None) -> None:
        self.count = count
        self.flow_run_id = flow_run_id
        # In flight only (a chunk or so of the map at any time), so that neither a big list
        # nor a per-element callback is left for the collector to walk:
        self._index_of: dict[cf.Future[Any], int] = {}
        self._inner_of: dict[int, cf.Future[Any]] = {}
        self._run_of: dict[int, TaskRun] = {}
        # Final:
        self._values: list[Any] = [None] * count
        self._odd: dict[int, State] = {}  # the final states that are not plain Completed ones
        self._ids = bytearray(16 * count)
        self._times = array("d", bytes(8 * count))
        # Counted with C iterators: one step is atomic, no lock needed.
        self._settled = itertools.count(1)
        self._failures = itertools.count()
        self._settle = self._one_done  # one bound method for every element's callback
        self.all_done: cf.Future[None] = cf.Future()  # every element is final
        self.first_failure: cf.Future[int] = cf.Future()  # the index of the first not Completed
        if not count:
            self.all_done.set_result(None)

    def track(self, index: int, run: TaskRun, inner: cf.Future[Any]) -> None:
        """Element `index` is `run`, whose outcome `inner` will hold."""
        self._run_of[index] = run
        self._inner_of[index] = inner
        self._index_of[inner] = index
        inner.add_done_callback(self._settle)

    def _one_done(self, inner: cf.Future[Any]) -> None:
        index = self._index_of.pop(inner)
        state: State | None
        if inner._state is _FINISHED and inner._exception is None:  # `result(0)`, inline
            state = inner._result.state  # type: ignore[union-attr]
        else:
            try:
                state = inner.result(0).state
            except BaseException:  # cancelled, or the runner failed: the future says so
                state = None
        if state is not None:
            run = self._run_of[index]
            self._ids[16 * index:16 * index + 16] = run.id.int.to_bytes(16, "big")  # .bytes
            if self._plain(state, run):
                self._values[index] = state._data
                self._times[index] = state.timestamp_s
            else:
                self._odd[index] = state
            # Readers look at the run first and the future second: drop them in reverse.
            del self._inner_of[index]
            del self._run_of[index]
        if (state is None or state.type is not _COMPLETED) and not next(self._failures):
            self.first_failure.set_result(index)
        if next(self._settled) == self.count:
            self.all_done.set_result(None)

    def _plain(self, state: State, run: TaskRun) -> bool:
        """Whether `state` is exactly what `_completed` rebuilds from its value and time."""
        if not (state.type is _COMPLETED and state.name == "Completed" and state.message is None
                and state._data is not _NO_DATA):
            return False
        details = state._details
        if details is None:  # details not made yet: the ids and run count the state keeps
            return (state._task_run_id is run.id and state._run_count == 1
                    and (state._flow_run_id is self.flow_run_id
                         or state._flow_run_id == self.flow_run_id))
        return (
            details.task_run_id is run.id
            and (details.flow_run_id is self.flow_run_id
                 or details.flow_run_id == self.flow_run_id) and details.run_count == 1
            and details.scheduled_time is None and details.cache_key is None
            and details.cache_expiration is None and details.retriable is None
        )

    # -- one element ------------------------------------------------------------------------
    def inner(self, index: int) -> cf.Future[Any] | None:
        """The runner's future while the run is in flight (or the runner failed); else None."""
        return self._inner_of.get(index)

    def run(self, index: int) -> TaskRun | None:
        return self._run_of.get(index)

    def task_run_id(self, index: int) -> UUID:
        run = self._run_of.get(index)
        if run is not None:
            return run.id
        from uuid import UUID

        return UUID(bytes=bytes(self._ids[16 * index:16 * index + 16]))

    def final_state(self, index: int) -> State:
        """The final state of an element whose `inner` is None."""
        state = self._odd.get(index)
        if state is not None:
            return state
        return self._completed(index)

    def _completed(self, index: int) -> State:
        state = run_state(_COMPLETED, "Completed", self.flow_run_id, self.task_run_id(index),
                          self._values[index])
        state.timestamp_s = self._times[index]
        state._run_count = 1
        return state

    def results(self, raise_on_failure: bool) -> list[Any]:
        """Every element's result, in order, once all are final."""
        values = list(self._values)
        for index in sorted({*self._inner_of, *self._odd}):
            inner = self._inner_of.get(index)
            state = _final_state(inner) if inner is not None else self._odd[index]
            values[index] = state._result(raise_on_failure=raise_on_failure)
        return values


class MappedTaskRunFuture(TaskRunFuture[R]):
    """The future of one element of a `.map`: a view of its slot in the map's `MapRuns`.

    `task_run` is the run while it is in flight; None once it is final (its records are
    stored; `state`, `result()` and `task_run_id` still answer).
    """

    __slots__ = ("_index", "_map")

    def __init__(self, runs: MapRuns, index: int) -> None:  # no super(): nothing of its own
        self._map = runs
        self._index = index

    @property
    def _future(self) -> cf.Future[Any]:  # type: ignore[override]
        inner = self._map.inner(self._index)
        if inner is not None:
            return inner
        settled: cf.Future[Any] = cf.Future()
        settled.set_result(_Settled(self._map.final_state(self._index)))
        return settled

    @property
    def task_run(self) -> TaskRun | None:  # type: ignore[override]
        return self._map.run(self._index)

    @property
    def task_run_id(self) -> UUID:
        return self._map.task_run_id(self._index)

    @property
    def state(self) -> State:
        runs, index = self._map, self._index
        run = runs.run(index)
        inner = runs.inner(index)
        if inner is None:
            return runs.final_state(index)
        if not inner.done():
            assert run is not None
            return run.state
        return _final_state(inner)

    def done(self) -> bool:
        inner = self._map.inner(self._index)
        return inner is None or inner.done()

    def wait(self, timeout: float | None = None) -> None:
        _check_timeout(timeout)
        inner = self._map.inner(self._index)
        if inner is not None and not inner.done():
            _note_wait_in_worker()
            cf.wait([inner], timeout=timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> R:
        runs, index = self._map, self._index
        if runs.inner(index) is None:
            if timeout is not None:
                _check_timeout(timeout)
            return runs.final_state(index)._result(  # type: ignore[no-any-return]
                raise_on_failure=raise_on_failure)
        return super().result(timeout, raise_on_failure)

    def add_done_callback(self, fn: Callable[[TaskRunFuture[R]], Any]) -> None:
        inner = self._map.inner(self._index)
        if inner is None:
            fn(self)
        else:
            inner.add_done_callback(lambda _: fn(self))

    def __repr__(self) -> str:
        run = self._map.run(self._index)
        if run is not None:
            return f"TaskRunFuture(task_run={run.name!r}, state={self.state!s})"
        return f"TaskRunFuture(task_run_id={self.task_run_id!s}, state={self.state!s})"


class MappedFutureList(TaskRunFutureList):
    """What `.map` returns when its runs go to the runner together: a list of
    `MappedTaskRunFuture`s over one `MapRuns`, which waits for and gathers them as a whole."""

    def __init__(self, runs: MapRuns) -> None:
        super().__init__([MappedTaskRunFuture(runs, index) for index in range(runs.count)])
        self.map_runs = runs

    def _intact(self) -> bool:
        # The whole-map paths hold while the list holds the map's elements (a user may have
        # changed it: it is a list); else the general paths, future by future.
        runs = self.map_runs
        if len(self) != runs.count:
            return False
        return all(
            future.__class__ is MappedTaskRunFuture and future._map is runs
            and future._index == index for index, future in enumerate(self)
        )

    def wait(self, timeout: float | None = None) -> None:
        _check_timeout(timeout)
        if not self._intact():
            super().wait(timeout)
            return
        done = self.map_runs.all_done
        if not done.done():
            _note_wait_in_worker()
            cf.wait([done], timeout=timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> list[Any]:
        _check_timeout(timeout)
        if not self._intact():
            return super().result(timeout, raise_on_failure)
        runs = self.map_runs
        done = runs.all_done
        if not done.done():  # as the general path: raise on the first failure to finish
            _note_wait_in_worker()
            waits: list[cf.Future[Any]] = [done, runs.first_failure] if raise_on_failure else [done]
            cf.wait(waits, timeout=timeout, return_when=cf.FIRST_COMPLETED)
            if raise_on_failure and runs.first_failure.done():
                self[runs.first_failure.result()].result(raise_on_failure=True)
            if not done.done():
                raise TimeoutError(
                    f"Timed out waiting for all futures to complete within {timeout} seconds"
                )
        return runs.results(raise_on_failure)


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
    100,000 futures alive just to wait for them, nor a run's result once its own future is
    dropped; and a flow waits for runs submitted while it waits (a task submitting another).
    (A list pruned as it grew, tried for speed, kept up to ~1,000 finished results alive.)
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
