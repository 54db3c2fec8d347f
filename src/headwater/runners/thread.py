"""`ThreadPoolTaskRunner`: task runs in a pool of threads of this process (the default)."""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import os
import threading
from typing import TYPE_CHECKING, Any

from headwater.core.context import flow_run_var
from headwater.core.engine import drive_async, drive_sync
from headwater.core.futures import WORKER_THREAD_PREFIX, TaskRunFuture
from headwater.core.options import OptionError
from headwater.core.runs import TaskRun
from headwater.core.states import State
from headwater.core.task_engine import new_task_run, task_run_steps
from headwater.runners.base import TaskRunner

if TYPE_CHECKING:
    from headwater.core.tasks import Task


def default_max_workers() -> int:
    from headwater import settings

    return settings.get_int(
        "HEADWATER_TASK_RUNNER_MAX_WORKERS", max(32, (os.cpu_count() or 1) + 4), minimum=1
    )


class ThreadPoolTaskRunner(TaskRunner):
    """Runs submitted tasks in a thread pool; async tasks on one shared event-loop thread.

    A run whose arguments hold futures is queued only once those futures are done, so no
    worker thread ever sits blocked waiting for an upstream: a bounded pool cannot deadlock on
    a chain of dependencies.

    Args:
        max_workers: threads in the pool. Default: `HEADWATER_TASK_RUNNER_MAX_WORKERS`, else
            max(32, CPUs + 4). I/O-bound work that waits a lot may want more.
    """

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
        self._executor: cf.ThreadPoolExecutor | None = None
        self._loop: Any = None
        self._loop_thread: threading.Thread | None = None
        self._loop_lock = threading.Lock()

    def duplicate(self) -> ThreadPoolTaskRunner:
        return type(self)(max_workers=self.max_workers)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.max_workers == self.max_workers

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ThreadPoolTaskRunner(max_workers={self.max_workers!r})"

    def _start(self) -> None:
        self._executor = cf.ThreadPoolExecutor(
            max_workers=self.max_workers or default_max_workers(),
            thread_name_prefix=WORKER_THREAD_PREFIX,
        )

    def _shutdown(self, cancel: bool) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=cancel)
            self._executor = None
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            assert self._loop_thread is not None
            self._loop_thread.join()
            self._loop.close()
            self._loop = None

    def submit(
        self, task: Task[..., Any], parameters: dict[str, Any], wait_for: Any = None
    ) -> TaskRunFuture[Any]:
        self._check_started()
        run = new_task_run(task, parameters, flow_run_var.get())
        context = contextvars.copy_context()
        return self._submit_when_ready(
            run, parameters, wait_for,
            lambda: self._launch(task, run, parameters, wait_for, context),
        )

    def _launch(
        self, task: Task[..., Any], run: TaskRun, parameters: dict[str, Any], wait_for: Any,
        context: contextvars.Context,
    ) -> cf.Future[State]:
        if task.isasync:
            return self._launch_async(task, run, parameters, wait_for, context)
        assert self._executor is not None
        return self._executor.submit(context.run, _run_sync, task, run, parameters, wait_for)

    def _launch_async(
        self, task: Task[..., Any], run: TaskRun, parameters: dict[str, Any], wait_for: Any,
        context: contextvars.Context,
    ) -> cf.Future[State]:
        loop = self._event_loop()
        result: cf.Future[State] = cf.Future()

        def start() -> None:
            # create_task copies the current context: run it inside the submitter's context.
            coro = _run_async(task, run, parameters, wait_for)
            job = context.run(loop.create_task, coro)
            job.add_done_callback(lambda j: _settle(result, j))

        loop.call_soon_threadsafe(start)
        return result

    def _event_loop(self) -> Any:
        with self._loop_lock:
            if self._loop is None:
                import asyncio

                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=serve, name="headwater-async-tasks", daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._loop_thread = loop, thread
            return self._loop


def _run_sync(
    task: Task[..., Any], run: TaskRun, parameters: dict[str, Any], wait_for: Any
) -> State:
    _, state, _ = drive_sync(task_run_steps(task, parameters, wait_for, task_run=run))
    return state


async def _run_async(
    task: Task[..., Any], run: TaskRun, parameters: dict[str, Any], wait_for: Any
) -> State:
    _, state, _ = await drive_async(task_run_steps(task, parameters, wait_for, task_run=run))
    return state


def _settle(target: cf.Future[Any], job: Any) -> None:
    if job.cancelled():
        target.cancel()
    elif job.exception() is not None:
        target.set_exception(job.exception())
    else:
        target.set_result(job.result())
