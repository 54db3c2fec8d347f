"""Submitted generator tasks: their items are collected into a list, as Prefect does.

Called directly, a generator task hands its generator to the caller, who consumes it. Sent to
a task runner with `.submit()`/`.map()`, nobody could consume it in the worker, so the run
iterates it to the end and its result is the list of items (the generator's `return` value
is dropped, as in Prefect). `execute` (the path every runner takes) turns this on.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_collect: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "headwater_collect_generators", default=False
)
collecting = _collect  # set and reset directly where a block would cost too much (`execute`)


@contextmanager
def collecting_generators() -> Iterator[None]:
    """Within the block, generator tasks run to the end and return a list of their items."""
    token = _collect.set(True)
    try:
        yield
    finally:
        _collect.reset(token)


def task_callable(task: Any) -> Callable[..., Any]:
    """The task's function, or a wrapper collecting its items if it is a generator function
    and the run was submitted. (Whether it is one is looked up once, when the task is made.)"""
    fn: Callable[..., Any] = task.fn
    if not task._isgenerator or not _collect.get():
        return fn

    def collect(*args: Any, **kwargs: Any) -> list[Any]:
        return list(fn(*args, **kwargs))

    return collect
