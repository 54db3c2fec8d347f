"""The task-runner seam: where submitted task runs execute.

A runner is a context manager. The flow engine opens a fresh copy (`duplicate()`) the first
time a flow run submits work, and closes it after every submitted run has finished.
`submit` must not block: upstream futures are waited for by the runner, not by the caller.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headwater.core.futures import TaskRunFuture, TaskRunFutureList
from headwater.core.resolution import collect_futures
from headwater.core.runs import TaskRun
from headwater.core.states import State

if TYPE_CHECKING:
    from headwater.core.tasks import Task


class TaskRunner:
    """Base class of every task runner."""

    def __init__(self) -> None:
        self._started = False
        self.cancel_on_exit = False

    @property
    def name(self) -> str:
        """`threadpool` for ThreadPoolTaskRunner, `dask` for DaskTaskRunner, ..."""
        return type(self).__name__.lower().replace("taskrunner", "")

    def duplicate(self) -> TaskRunner:
        """A new, unstarted runner with the same settings."""
        raise NotImplementedError

    def __enter__(self) -> TaskRunner:
        if self._started:
            raise RuntimeError(
                f"This task runner is already started: {self!r}. Use runner.duplicate() to get "
                "a fresh one."
            )
        self._start()
        self._started = True
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self._shutdown(cancel=self.cancel_on_exit or exc_info[0] is not None)
        finally:
            self._started = False

    def _start(self) -> None:
        """Acquire resources (pools, clusters)."""

    def _shutdown(self, cancel: bool) -> None:
        """Release them. Normally every submitted run has finished by now; with `cancel`, drop
        the runs that have not started."""

    def _check_started(self) -> None:
        if not self._started:
            raise RuntimeError(
                f"Task runner {self!r} is not started. Use it as a context manager: "
                "`with runner: ...` (flows do this for you)."
            )

    def submit(
        self, task: Task[..., Any], parameters: dict[str, Any], wait_for: Any = None
    ) -> TaskRunFuture[Any]:
        """Start one task run with these parameters; return its future at once.

        Args:
            task: the task to run.
            parameters: its parameters by name; may hold futures of upstream runs.
            wait_for: futures to wait for before starting, without passing their data.
        """
        raise NotImplementedError

    def _submit_when_ready(
        self, run: TaskRun, parameters: dict[str, Any], wait_for: Any,
        launch: Callable[[], cf.Future[State]],
    ) -> TaskRunFuture[Any]:
        """Call `launch()` once every upstream future in the arguments is done.

        Queuing a run only when its inputs are ready means no worker ever blocks waiting for
        an upstream, so a bounded pool cannot deadlock on a chain of dependencies.
        """
        pending = upstream_futures(parameters, wait_for)
        if not pending:
            return TaskRunFuture(run, launch())
        outer: cf.Future[State] = cf.Future()

        def start() -> None:
            try:
                inner = launch()
            except BaseException as exc:
                outer.set_exception(exc)
                return
            chain(inner, outer)

        when_all_done(pending, start)
        return TaskRunFuture(run, outer)

    def map(
        self, task: Task[..., Any], calls: list[dict[str, Any]], wait_for: Any = None
    ) -> TaskRunFutureList:
        """Submit one run per parameter dict in `calls`."""
        return TaskRunFutureList(self.submit(task, params, wait_for) for params in calls)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def upstream_futures(parameters: dict[str, Any], wait_for: Any) -> list[cf.Future[Any]]:
    """The not-yet-done inner futures a run must wait for before it can start."""
    found: list[TaskRunFuture[Any]] = []
    for value in parameters.values():
        collect_futures(value, found)
    if wait_for is not None:
        collect_futures(list(wait_for) if isinstance(wait_for, (list, tuple, set)) else [wait_for],
                        found)
    return [f._future for f in found if not f.done()]


def chain(source: cf.Future[Any], target: cf.Future[Any]) -> None:
    """Complete `target` the way `source` completes."""

    def copy(done: cf.Future[Any]) -> None:
        if done.cancelled():
            target.cancel()
            return
        exc = done.exception()
        if exc is not None:
            target.set_exception(exc)
        else:
            target.set_result(done.result())

    source.add_done_callback(copy)


def when_all_done(futures: list[cf.Future[Any]], callback: Any) -> None:
    """Call `callback()` once, in whichever thread finishes the last of `futures`."""
    remaining = [len(futures)]
    lock = threading.Lock()

    def one_done(_: cf.Future[Any]) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            callback()

    for future in futures:
        future.add_done_callback(one_done)
