"""Tasks: `@task`, the `Task` class and helpers for task options."""

from typing import Any

from headwater.core.hashing import hash_objects
from headwater.core.retries import exponential_backoff as exponential_backoff
from headwater.core.tasks import Task as Task
from headwater.core.tasks import task as task

__all__ = ["Task", "exponential_backoff", "task", "task_input_hash"]


def task_input_hash(context: Any, arguments: dict[str, Any]) -> str | None:
    """A `cache_key_fn` that keys on the task (its name and code) and all its arguments.

    Example:
        >>> @task(cache_key_fn=task_input_hash, cache_expiration=timedelta(days=1))
        ... def fetch(url: str) -> bytes: ...
    """
    fn = context.task.fn
    code = getattr(fn, "__code__", None)
    return hash_objects(context.task.task_key, code.co_code.hex() if code else repr(fn), arguments)
