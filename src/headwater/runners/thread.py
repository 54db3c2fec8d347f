"""`ThreadPoolTaskRunner`: task runs in a pool of threads of this process (the default)."""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import os
import threading
from typing import TYPE_CHECKING, Any

from headwater.core.futures import WORKER_THREAD_PREFIX
from headwater.errors import OptionError
from headwater.runners._pool import WorkerPool
from headwater.runners.base import TaskRunner

if TYPE_CHECKING:
    from headwater.engine.execution import TaskRunOutcome, TaskRunRequest


def default_max_workers() -> int:
    from headwater import settings

    return settings.get_int(
        "HEADWATER_TASK_RUNNER_MAX_WORKERS", max(32, (os.cpu_count() or 1) + 4), minimum=1
    )


class ThreadPoolTaskRunner(TaskRunner):
    """Runs submitted tasks in a pool of threads; an async task on its worker's own event loop.

    Every run gets a worker of its own, async runs too, so a run that blocks (waiting for
    another run's result, a lock, a slow call) never holds up the others. The engine queues a
    run only once its upstream runs are done, so a bounded pool cannot deadlock on a chain of
    dependencies.

    Args:
        max_workers: threads in the pool. Default: `HEADWATER_TASK_RUNNER_MAX_WORKERS`, else
            max(32, CPUs + 4). I/O-bound work that waits a lot may want more.
    """

    in_process = True

    def __init__(self, max_workers: int | None = None) -> None:
        super().__init__()
        if max_workers is not None and (
            isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1
        ):
            raise OptionError(
                f"ThreadPoolTaskRunner(max_workers={max_workers!r}): max_workers must be a "
                "whole number >= 1, or None for the default.",
                option="max_workers",
                value=max_workers,
            )
        self.max_workers = max_workers
        self._executor: WorkerPool | None = None
        self._local = threading.local()
        self._loops: list[Any] = []
        self._loops_lock = threading.Lock()

    def duplicate(self) -> ThreadPoolTaskRunner:
        return type(self)(max_workers=self.max_workers)

    def __reduce__(self) -> tuple[Any, ...]:
        # Only the init args cross a process boundary (a flow pickled by value carries its
        # runner): the pool, its threads and loops belong to this process.
        return (type(self), (self.max_workers,))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.max_workers == self.max_workers

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ThreadPoolTaskRunner(max_workers={self.max_workers!r})"

    def _start(self) -> None:
        self._executor = WorkerPool(self.max_workers or default_max_workers(),
                                    WORKER_THREAD_PREFIX)

    def _shutdown(self, cancel: bool) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=cancel)
            self._executor = None
        with self._loops_lock:
            loops, self._loops = self._loops, []
        for loop in loops:  # their threads have ended: nothing runs on them any more
            loop.close()
        self._local = threading.local()

    def submit(self, request: TaskRunRequest) -> cf.Future[TaskRunOutcome]:
        executor = self._executor
        if executor is None or not self._started:
            self._check_started()
        assert executor is not None
        # The run keeps the submitter's context (its flow run, tags, the user's own variables).
        run = contextvars.copy_context().run
        if request.task.isasync:
            return executor.submit(run, self._execute_async, request)
        return executor.submit(run, request.execute)

    def submit_many(self, requests: list[TaskRunRequest]) -> list[cf.Future[TaskRunOutcome]]:
        executor = self._executor
        if executor is None or not self._started:
            self._check_started()
        assert executor is not None
        copy_context = contextvars.copy_context
        # Each run gets its own copy of the context: a context cannot be entered by two
        # threads at once.
        return executor.submit_many([
            (copy_context().run, (self._execute_async, request) if request.task.isasync
             else (request.execute,))
            for request in requests
        ])

    def _execute_async(self, request: TaskRunRequest) -> TaskRunOutcome:
        """In a worker thread: run an async task run on this thread's own event loop."""
        loop = getattr(self._local, "loop", None)
        if loop is None:
            import asyncio

            loop = asyncio.new_event_loop()
            self._local.loop = loop
            with self._loops_lock:
                self._loops.append(loop)
        outcome: TaskRunOutcome = loop.run_until_complete(request.execute_async())
        return outcome
