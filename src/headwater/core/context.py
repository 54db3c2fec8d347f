"""Run contexts: which flow run and task run the current code belongs to.

Contexts live in `contextvars`, so they follow the code into coroutines and, when a runner copies
the context, into worker threads. A flow run inside a task run hides the task's context: code in
the subflow belongs to the subflow.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from headwater.errors import MissingContextError

if TYPE_CHECKING:
    import logging
    from uuid import UUID

    from headwater.core.flows import Flow
    from headwater.core.futures import PendingRuns
    from headwater.core.runs import FlowRun, TaskRun
    from headwater.core.tasks import Task


def _pending_runs() -> PendingRuns:
    """A new `PendingRuns`. The futures module (with `concurrent.futures`, which loads
    `logging` and `traceback`) is imported when the first flow run starts, not with
    `import headwater`; then kept (a worker makes a context per task run, and an import
    statement costs ~12k instructions even for a loaded module)."""
    made = _PENDING_RUNS
    if not made:
        from headwater.core.futures import PendingRuns

        made.append(PendingRuns)
    return made[0]()


_PENDING_RUNS: list[type[PendingRuns]] = []


class FlowRunContext:
    """What code running inside a flow run can see.

    The engine fills it in; `runner` is the flow run's task runner once something was
    submitted, `facts` the small picklable summary that travels with every task-run request,
    `cancel_scope` this run's id and its parents' (a cancel request for any of them stops it).
    """

    __slots__ = (
        "_logger",
        "_make_logger",
        "calls",
        "cancel_scope",
        "facts",
        "flow",
        "flow_run",
        "lineage",
        "lock",
        "log_prints",
        "parameters",
        "parent",
        "pending",
        "persist_by_default",
        "resume",
        "runner",
        "runtime",
        "sink",
        "task_runner",
    )

    def __init__(
        self,
        flow: Flow[..., Any],
        flow_run: FlowRun,
        parameters: dict[str, Any],
        log_prints: bool,
        logger: logging.LoggerAdapter[logging.Logger] | None,
        runtime: Any,
        task_runner: Any = None,
        parent: FlowRunContext | None = None,
        make_logger: Any = None,
    ) -> None:
        self.flow = flow
        self.flow_run = flow_run
        self.parameters = parameters
        self.log_prints = log_prints
        # The run's logger, or the function that makes it (`make_logger(flow_run, flow_name)`)
        # the first time it is needed: most subflow runs never log.
        self._logger = logger
        self._make_logger = make_logger
        self.runtime = runtime
        self.sink = runtime.sink
        self.task_runner = task_runner  # the flow's configured runner (a template, never entered)
        self.parent = parent
        self.cancel_scope: tuple[UUID, ...] = (
            (flow_run.id, *parent.cancel_scope) if parent is not None else (flow_run.id,)
        )
        self.pending = _pending_runs()
        self.lineage: Any = None  # asset lineage bookkeeping, created when assets are used
        self.persist_by_default: bool | None = None  # the setting, read on first need
        self.facts: Any = None  # the engine's FlowRunFacts, made on first need
        self.runner: Any = None  # the started task runner, made on first submit
        self.lock = threading.Lock()
        self.calls: dict[str, int] = {}  # calls so far per task key (and subflow): identities
        self.resume: Any = None  # the engine's ResumePlan when this run resumes an earlier one

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """The run's logger (its records carry the run's ids and names)."""
        logger = self._logger
        if logger is None:
            logger = self._logger = self._make_logger(self.flow_run, self.flow.name)
        return logger

    def __repr__(self) -> str:
        return f"FlowRunContext(flow_run={self.flow_run.name!r})"

    @classmethod
    def get(cls) -> FlowRunContext | None:
        """The current flow run's context, or None outside one (as Prefect's)."""
        return flow_run_var.get()


class TaskRunContext:
    """What code running inside a task run can see.

    Its `logger` is made on first use (most runs of a plain task never log): the engine gives
    the function that makes it, and the flow run's name and its flow's name to make it with.
    """

    __slots__ = ("_flow_name", "_flow_run", "_logger", "_make_logger", "log_prints",
                 "parameters", "task", "task_run", "transaction")

    def __init__(
        self,
        task: Task[..., Any],
        task_run: TaskRun,
        parameters: dict[str, Any],
        log_prints: bool,
        logger: logging.LoggerAdapter[logging.Logger] | None = None,
        make_logger: Any = None,
        flow_run: Any = None,
        flow_name: str | None = None,
    ) -> None:
        self.task = task
        self.task_run = task_run
        self.parameters = parameters
        self.log_prints = log_prints
        self._logger = logger
        self._make_logger = make_logger
        self._flow_run = flow_run
        self._flow_name = flow_name
        # The run's own transaction (headwater.core.transactions); None until one is needed.
        self.transaction: Any = None

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """The run's logger (its records carry the run's ids and names)."""
        logger = self._logger
        if logger is None:
            logger = self._logger = self._make_logger(self.task_run, self._flow_run,
                                                      self._flow_name)
        return logger

    def __repr__(self) -> str:
        return f"TaskRunContext(task_run={self.task_run.name!r})"

    @classmethod
    def get(cls) -> TaskRunContext | None:
        """The current task run's context, or None outside one (as Prefect's)."""
        return task_run_var.get()


flow_run_var: contextvars.ContextVar[FlowRunContext | None] = contextvars.ContextVar(
    "headwater_flow_run", default=None
)
task_run_var: contextvars.ContextVar[TaskRunContext | None] = contextvars.ContextVar(
    "headwater_task_run", default=None
)
tags_var: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "headwater_tags", default=frozenset()
)


def current_flow_run_context() -> FlowRunContext | None:
    """The flow run the current code belongs to, or None."""
    return flow_run_var.get()


def current_task_run_context() -> TaskRunContext | None:
    """The task run the current code belongs to, or None."""
    return task_run_var.get()


def get_run_context() -> TaskRunContext | FlowRunContext:
    """The innermost run context: the task run's inside a task, else the flow run's.

    Raises:
        MissingContextError: outside any flow or task run.
    """
    ctx: TaskRunContext | FlowRunContext | None = task_run_var.get() or flow_run_var.get()
    if ctx is None:
        raise MissingContextError(
            "No run context available: this code is not running inside a flow or task run. "
            "Call it from a function decorated with @flow or @task."
        )
    return ctx


def current_tags() -> frozenset[str]:
    """The tags that `with tags(...)` blocks around the current code have set."""
    return tags_var.get()


@contextmanager
def tags(*new_tags: str) -> Iterator[set[str]]:
    """Tag every flow and task run created inside the block.

    Blocks nest: the tags of an inner block add to those of the outer ones.

    Example:
        >>> with tags("nightly", "etl"):
        ...     my_flow()
    """
    for tag in new_tags:
        if not isinstance(tag, str):
            raise TypeError(f"Tags must be strings, got {tag!r}. Write tags({str(tag)!r}).")
    combined = tags_var.get() | frozenset(new_tags)
    token = tags_var.set(combined)
    try:
        yield set(combined)
    finally:
        tags_var.reset(token)
