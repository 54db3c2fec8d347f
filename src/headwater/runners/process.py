"""`ProcessPoolTaskRunner`: task runs in separate Python processes (CPU-bound work).

Tasks, arguments and results travel with cloudpickle; a task, argument or result that cannot
be pickled fails its run with a `SerializationError` that names it. Workers are started with
`spawn`, so they import your module afresh: keep flow scripts behind `if __name__ == "__main__"`.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from typing import TYPE_CHECKING, Any

from headwater.core.context import flow_run_var
from headwater.core.futures import TaskRunFuture
from headwater.core.options import OptionError
from headwater.core.states import State
from headwater.core.task_engine import new_task_run
from headwater.errors import SerializationError
from headwater.events import current_sink
from headwater.runners import _remote
from headwater.runners.base import TaskRunner

if TYPE_CHECKING:
    from headwater.core.runs import TaskRun
    from headwater.core.tasks import Task


class ProcessPoolTaskRunner(TaskRunner):
    """Runs submitted tasks in a pool of worker processes.

    Args:
        max_workers: processes in the pool; default: the number of CPUs.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        super().__init__()
        if max_workers is not None and (
            isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1
        ):
            raise OptionError(
                f"ProcessPoolTaskRunner(max_workers={max_workers!r}): max_workers must be a "
                "whole number >= 1, or None for one process per CPU.",
                option="max_workers",
                value=max_workers,
            )
        self.max_workers = max_workers
        self._executor: cf.ProcessPoolExecutor | None = None

    def duplicate(self) -> ProcessPoolTaskRunner:
        return type(self)(max_workers=self.max_workers)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.max_workers == self.max_workers

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ProcessPoolTaskRunner(max_workers={self.max_workers!r})"

    def _start(self) -> None:
        self._executor = cf.ProcessPoolExecutor(
            max_workers=self.max_workers or os.cpu_count() or 1,
            mp_context=multiprocessing.get_context("spawn"),
        )

    def _shutdown(self, cancel: bool) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=cancel)
            self._executor = None

    def submit(
        self, task: Task[..., Any], parameters: dict[str, Any], wait_for: Any = None
    ) -> TaskRunFuture[Any]:
        self._check_started()
        flow_ctx = flow_run_var.get()
        run = new_task_run(task, parameters, flow_ctx)
        sink = flow_ctx.sink if flow_ctx is not None else current_sink()

        def launch() -> cf.Future[State]:
            done: cf.Future[State] = cf.Future()
            try:
                payload = _remote.pack(task, run, parameters, wait_for, flow_ctx)
            except SerializationError as exc:
                done.set_result(_remote.record_unsendable(task, run, parameters, exc, sink))
                return done
            assert self._executor is not None
            remote = self._executor.submit(_remote.execute, payload)
            remote.add_done_callback(lambda f: _finish(f, done, run, sink))
            return done

        return self._submit_when_ready(run, parameters, wait_for, launch)


def _finish(remote: cf.Future[bytes], done: cf.Future[State], run: TaskRun, sink: Any) -> None:
    exc = remote.exception()
    if exc is not None:
        done.set_exception(exc)
        return
    done.set_result(_remote.unpack(remote.result(), run, sink))
