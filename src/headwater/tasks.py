"""Tasks: `@task`, the `Task` class and helpers for task options."""

from headwater.core.retries import exponential_backoff as exponential_backoff
from headwater.core.tasks import Task as Task
from headwater.core.tasks import task as task

__all__ = ["Task", "exponential_backoff", "task"]
