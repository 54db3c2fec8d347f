"""A lean pool of worker threads behind `ThreadPoolTaskRunner`.

It keeps the promises of `concurrent.futures.ThreadPoolExecutor` that the engine relies on —
`submit` never blocks, returns a `concurrent.futures.Future`, starts a thread only when no
worker is idle and the pool is not full, and `shutdown(cancel_futures=True)` cancels what has
not started — with less work per run: the queue is a C `SimpleQueue` of plain tuples, and
the idle workers are a counter under one C lock instead of a Python semaphore (two condition
variables per run) and a work-item object. A task run's own cost is what users pay for, so
this is where a per-run microsecond is worth saving.

Workers are daemon threads: a pool is always shut down by its runner (at the end of the flow
run that opened it); one that is not must not keep the interpreter from exiting. A worker
that leaves a shut-down pool parks, and the next pool adopts it (`_reservoir.py`).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from headwater.runners import _reservoir

_STOP = None  # put once per worker at shutdown
# The states as concurrent.futures spells them (the same objects: compared by identity).
_PENDING, _RUNNING, _FINISHED = cf._base.PENDING, cf._base.RUNNING, cf._base.FINISHED
_DONE = frozenset({_FINISHED, cf._base.CANCELLED, cf._base.CANCELLED_AND_NOTIFIED})
_LOGGER = cf._base.LOGGER
_RAN: tuple[Any, ...] = ()


class PoolFuture(cf.Future):  # type: ignore[type-arg]
    """A `concurrent.futures.Future` that shares its pool's condition variable.

    A plain `Future` makes its own `Condition` (an RLock, a deque and five bound methods:
    about a kilobyte, and a good part of the cost of a submit); a `.map` of a million keeps a
    million of them. Sharing one per pool is safe because every waiter re-checks its own
    future's state: `result` and `exception` below wait in a loop (the base class waits once),
    and `wait`/`as_completed` never sleep on the condition (they use their own waiters).
    """

    def __init__(self, condition: threading.Condition) -> None:  # no super(): no Condition
        self._condition = condition
        self._lock = condition._lock  # type: ignore[attr-defined]
        self._state = _PENDING
        self._result = None
        self._exception = None
        # Both lists are made when first needed: most futures never get a waiter or a
        # callback (a flow waits for its runs without either), and a list per future is one
        # more object for the garbage collector to walk while the flow holds its futures.
        self._some_waiters: list[Any] | None = None
        self._done_callbacks: list[Any] | tuple[()] = ()

    @property
    def _waiters(self) -> list[Any]:  # type: ignore[override]  # for cf.wait and the base class
        waiters = self._some_waiters
        if waiters is None:
            waiters = self._some_waiters = []
        return waiters

    def _wait_done(self, timeout: float | None) -> None:
        if self._state in _DONE:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            while self._state not in _DONE:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return  # the base class raises TimeoutError
                self._condition.wait(remaining)

    def _invoke_callbacks(self) -> None:
        # As the base class does, without its frame. Once the future is done, a callback
        # added runs at once (`add_done_callback`), so none is added to the list meanwhile;
        # dropping it after, a done future of a big `.map` keeps no bound methods alive.
        for callback in self._done_callbacks:
            try:
                callback(self)
            except Exception:
                _LOGGER.exception("exception calling callback for %r", self)
        self._done_callbacks = _RAN

    # The methods below do what the base class's do, holding the condition's lock itself
    # (`with self._condition` runs Condition.__enter__, a Python frame, each time) and waking
    # waiters only when there are any: every run calls four of them.
    def done(self) -> bool:
        return self._state in _DONE  # one read: no lock needed

    def add_done_callback(self, fn: Callable[[cf.Future[Any]], object]) -> None:
        with self._lock:
            if self._state not in _DONE:
                callbacks = self._done_callbacks
                if callbacks.__class__ is list:
                    callbacks.append(fn)
                else:
                    self._done_callbacks = [fn]
                return
        try:
            fn(self)
        except Exception:
            _LOGGER.exception("exception calling callback for %r", self)

    def set_running_or_notify_cancel(self) -> bool:
        with self._lock:
            if self._state is _PENDING:
                self._state = _RUNNING
                return True
        return super().set_running_or_notify_cancel()  # cancelled (or a misuse: it raises)

    def set_result(self, result: Any) -> None:
        with self._lock:
            if self._state in _DONE:
                raise cf.InvalidStateError(f"{self._state}: {self!r}")
            self._result = result
            self._state = _FINISHED
            if self._some_waiters:
                for waiter in self._some_waiters:
                    waiter.add_result(self)
            if self._condition._waiters:  # type: ignore[attr-defined]
                self._condition.notify_all()
        self._invoke_callbacks()

    def result(self, timeout: float | None = None) -> Any:
        if self._state is _FINISHED and self._exception is None:
            return self._result
        self._wait_done(timeout)
        return super().result(0)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._wait_done(timeout)
        return super().exception(0)


class WorkerPool:
    """Up to `max_workers` threads named `{prefix}_0`, `{prefix}_1`, ..., started on demand."""

    def __init__(self, max_workers: int, prefix: str) -> None:
        self._max_workers = max_workers
        self._prefix = prefix
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # workers that finished a run and will take the next one
        self._started = 0  # workers asked for (each a parked thread adopted, or a new one)
        self._working = 0  # workers that have not left yet
        self._all_left = threading.Event()
        self._threads: list[threading.Thread] = []  # the threads that worked here
        self._pid = os.getpid()  # a forked child's copy has none of these workers
        self._closed = False
        self._condition = threading.Condition()  # shared by the pool's futures

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future[Any]:
        """Run `fn(*args)` in a worker; a future of its value (or its exception)."""
        future = PoolFuture(self._condition)
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new runs after the pool was shut down")
            self._queue.put((future, fn, args))
            if self._idle:
                self._idle -= 1
                return future
            if self._started < self._max_workers:
                self._start_worker()
        return future

    def submit_many(self, calls: list[tuple[Callable[..., Any], tuple[Any, ...]]]
                    ) -> list[cf.Future[Any]]:
        """`submit` for each (fn, args), in order, taking the lock once."""
        condition = self._condition
        futures: list[cf.Future[Any]] = [PoolFuture(condition) for _ in calls]
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new runs after the pool was shut down")
            put = self._queue.put
            for future, (fn, args) in zip(futures, calls, strict=True):
                put((future, fn, args))
            waking = min(self._idle, len(calls))
            self._idle -= waking
            for _ in range(min(len(calls) - waking, self._max_workers - self._started)):
                self._start_worker()
        return futures

    def _start_worker(self) -> None:  # with self._lock held
        name = f"{self._prefix}_{self._started}"
        self._started += 1
        self._working += 1
        try:
            _reservoir.start(self._serve, name)  # a thread an earlier pool released, if any
        except BaseException:  # no thread ("can't start new thread"): no worker to wait for
            self._started -= 1
            self._working -= 1
            if not self._working:
                self._all_left.set()
            raise

    def _serve(self) -> None:
        """A worker's time in this pool: until it takes a stop, then it leaves (and parks)."""
        with self._lock:
            self._threads.append(threading.current_thread())
        try:
            self._work()
        finally:
            with self._lock:
                self._working -= 1
                if not self._working:
                    self._all_left.set()

    def _work(self) -> None:
        get, lock = self._queue.get, self._lock
        while True:
            item = get()
            if item is _STOP:
                return
            future, fn, args = item
            del item
            # set_running_or_notify_cancel, inline for the common case (a frame less per run)
            with future._lock:
                started = future._state is _PENDING
                if started:
                    future._state = _RUNNING
            if not started and not future.set_running_or_notify_cancel():
                with lock:
                    self._idle += 1
                continue
            try:
                value = fn(*args)
            except BaseException as exc:  # the future carries it to whoever waits
                with lock:  # idle before the future completes: whoever it wakes reuses us
                    self._idle += 1
                future.set_exception(exc)
                del exc
            else:
                with lock:
                    self._idle += 1
                future.set_result(value)
                del value
            del future, fn, args  # a finished run's objects are not kept alive by its worker

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """Stop the workers once the queue is empty; with `cancel_futures`, cancel the runs
        that have not started. With `wait`, return when every worker has left (its thread then
        parks for the next pool: `_reservoir.py`)."""
        with self._lock:
            self._closed = True
            workers = self._started
            mine = threading.current_thread() in self._threads
            forked = os.getpid() != self._pid  # the workers are the parent's, not here
        if cancel_futures:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not _STOP and item[0].cancel():
                    # Unlike ThreadPoolExecutor, also tell whoever waits (`wait`,
                    # `as_completed`): a cancelled run is done, not pending forever.
                    item[0].set_running_or_notify_cancel()
        for _ in range(workers):
            self._queue.put(_STOP)
        if wait and workers and not forked:
            if mine:  # as Thread.join of itself: a worker cannot wait for every worker
                raise RuntimeError("a pool's worker cannot wait for the pool's workers to end")
            self._all_left.wait()
