"""The task-runner seam: where task runs execute.

A runner moves requests and outcomes, nothing else. The engine hands it a
`headwater.engine.TaskRunRequest` once the run is ready to start (upstream runs finished,
parameters resolved); the runner returns a `concurrent.futures.Future` that completes with the
run's `TaskRunOutcome`:

- a runner whose workers are threads of this process (`in_process = True`) calls
  `request.execute()` there, or `await request.execute_async()` for an async task;
- any other ships `request.to_bytes()` with the worker entry point `request.execute_bytes`
  (importable wherever headwater is installed) and reads the answer with
  `request.outcome_from_bytes(...)`; the engine replays the records it carries.

A runner is a context manager. The engine opens a fresh copy (`duplicate()`) the first time a
flow run submits work, and closes it after every submitted run has finished. `submit` must not
block. A runner never imports the engine: everything it needs comes with the request.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from headwater.engine.execution import TaskRunOutcome, TaskRunRequest


class TaskRunner:
    """Base class of every task runner.

    Attributes:
        in_process: True when runs execute in this process and report to the flow's sink
            themselves; False when outcomes come back with the runs' records.
        cancel_on_exit: set by the engine before closing a crashed flow's runner: runs that
            have not started are dropped.
    """

    in_process: ClassVar[bool] = False

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

    def submit(self, request: TaskRunRequest) -> cf.Future[TaskRunOutcome]:
        """Start one task run; return a future of its outcome at once.

        Raises:
            SerializationError: the request cannot be sent where this runner runs things
                (the engine then records the run as Failed, saying why).
        """
        raise NotImplementedError

    def submit_many(self, requests: list[TaskRunRequest]) -> list[cf.Future[TaskRunOutcome]]:
        """Start several runs (a `.map`); one future per request, in order.

        Never raises for one request: a request that cannot be sent gets a future that has
        failed with its `SerializationError`. Runners with a cheaper batch path override it.
        """
        futures = []
        for request in requests:
            try:
                futures.append(self.submit(request))
            except Exception as exc:  # SerializationError, mostly: that request alone fails
                futures.append(failed_future(exc))
        return futures

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def failed_future(exc: BaseException) -> cf.Future[Any]:
    """A future that has already failed with `exc`."""
    future: cf.Future[Any] = cf.Future()
    future.set_exception(exc)
    return future


def decoded(
    remote: Any, decode: Callable[[Any], TaskRunOutcome]
) -> cf.Future[TaskRunOutcome]:
    """A future of `decode(value)` for a future-like `remote` (`add_done_callback`, `result`)
    that completes with the bytes a worker returned."""
    done: cf.Future[TaskRunOutcome] = cf.Future()

    def settle(finished: Any) -> None:
        try:
            outcome = decode(finished.result())
        except BaseException as exc:  # the worker or the cluster failed, not the task
            done.set_exception(exc)
            return
        done.set_result(outcome)

    remote.add_done_callback(settle)
    return done
