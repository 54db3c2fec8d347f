"""Futures of submitted task runs: `wait`, `as_completed` and the future types."""

from headwater.core.futures import DoneAndNotDoneFutures as DoneAndNotDoneFutures
from headwater.core.futures import TaskRunFuture as TaskRunFuture
from headwater.core.futures import TaskRunFutureList as TaskRunFutureList
from headwater.core.futures import as_completed as as_completed
from headwater.core.futures import wait as wait

__all__ = ["DoneAndNotDoneFutures", "TaskRunFuture", "TaskRunFutureList", "as_completed", "wait"]
