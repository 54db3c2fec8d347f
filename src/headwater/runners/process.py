"""`ProcessPoolTaskRunner`: task runs in separate Python processes (CPU-bound work).

Tasks, arguments and results travel with cloudpickle; a task, argument or result that cannot
be pickled fails its run with a `SerializationError` that names it. Workers are started with
`spawn`, so they import your module afresh: keep flow scripts behind `if __name__ == "__main__"`.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from typing import TYPE_CHECKING

from headwater.errors import OptionError
from headwater.runners.base import TaskRunner, decoded

if TYPE_CHECKING:
    from headwater.engine.execution import TaskRunOutcome, TaskRunRequest


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

    def submit(self, request: TaskRunRequest) -> cf.Future[TaskRunOutcome]:
        self._check_started()
        assert self._executor is not None
        payload = request.to_bytes()
        return decoded(self._executor.submit(request.execute_bytes, payload),
                       request.outcome_from_bytes)
