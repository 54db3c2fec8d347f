"""Plain task runs in a straight line: what most task calls are (no retries, hooks, timeout,
persistence, printed logs, run-name template, lineage or resume; sync; not blocked).

`run_plain` makes the same records, states, logs and decisions as `task_run.task_run_steps`
(the same functions make them), without the generator and its effects;
`tests/engine/test_plain_runs.py` holds the two to the same records.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from headwater.core.assets import assets_in_use
from headwater.core.context import TaskRunContext, flow_run_var, task_run_var
from headwater.core.runs import NOT_STARTED
from headwater.core.states import (
    State,
    StateType,
    exception_to_crashed_state,
    exception_to_failed_state,
    plain_value,
    return_value_to_state,
    run_state,
)
from headwater.core.transactions import _current as _transaction_var
from headwater.core.transactions import settle_plain
from headwater.engine.generators import task_callable
from headwater.engine.logs import (
    _task_runs_logger,
    task_run_finished,
    task_run_line,
    task_run_logger,
)
from headwater.engine.task_run import TaskRunResult, cancelled_before_start, flow_context
from headwater.events.records import DependencyAdded, StateChanged, TaskRunCreated

if TYPE_CHECKING:
    from uuid import UUID

    from headwater.core.context import FlowRunContext
    from headwater.core.runs import TaskRun
    from headwater.core.tasks import Task
    from headwater.engine.execution import AttemptSettings, TaskRunRequest
    from headwater.engine.runtime import Runtime


def is_plain(request: TaskRunRequest) -> bool:
    """Whether a run uses none of the optional features, so `run_plain` can run it: no retries,
    hooks, timeout, persistence, printed logs, run-name template, lineage or enclosing
    transaction; sync; not blocked; not resuming."""
    return (request.blocked is None and request.resume is None
            and is_plain_task(request.task, request.settings))


def is_plain_task(task: Task[..., Any], settings: AttemptSettings) -> bool:
    """Whether runs of `task` with these attempt settings use none of the optional features
    (what `is_plain` asks of the task; a direct call asks it without building a request).
    A few attribute reads: decided per run, so a hook registered later counts."""
    return not (
        task.retries or task.isasync or task.timeout_seconds is not None
        or task.on_running_hooks or task.on_completion_hooks or task.on_failure_hooks
        or task.on_commit_hooks or task.on_rollback_hooks
        or task.retry_condition_fn is not None or task.task_run_name is not None
        or settings.log_prints or settings.persist_result
        or assets_in_use() or _transaction_var.get() is not None
    )


def run_plain(request: TaskRunRequest) -> TaskRunResult:
    """A run `is_plain` accepted, in a straight line: the same records, states, logs and
    decisions as `task_run_steps` (the same functions make them), without the generator and
    its effects. `tests/engine/test_plain_runs.py` holds the two to the same records."""
    facts, live = request.flow_run, flow_run_var.get()
    flow_ctx: FlowRunContext | None
    if facts is not None and live is not None and live.facts is facts:
        flow_ctx, runtime, flow_token = live, live.runtime, None  # flow_context's common case
    else:
        flow_ctx, runtime, flow_token = flow_context(request)
    run = request.task_run
    try:
        state, handed_back = run_plain_in(request.task, run, request.parameters,
                                          request.upstreams, flow_ctx, runtime)
    finally:
        if flow_token is not None:
            flow_run_var.reset(flow_token)
    return run, state, handed_back


def run_plain_in(
    task: Task[..., Any], run: TaskRun, parameters: dict[str, Any],
    upstreams: tuple[tuple[str, UUID], ...], flow_ctx: FlowRunContext | None, runtime: Runtime,
) -> tuple[State, Any]:
    """`run_plain` in the flow run context `flow_ctx` (the current one, or None): what a
    direct task call runs. Returns (final state, State the function returned)."""
    # The flow run's sink (the one its context took from this runtime), without the property.
    emit = (flow_ctx.sink if flow_ctx is not None else runtime.sink).emit
    ctx = TaskRunContext(
        task, run, parameters, False, None, task_run_logger,
        flow_ctx.flow_run if flow_ctx is not None else None,
        flow_ctx.flow.name if flow_ctx is not None else None,
    )
    token = task_run_var.set(ctx)
    run_id, flow_run_id = run.id, run.flow_run_id
    try:
        # Records are built with tuple.__new__: the same named tuples, without a Python
        # frame for their generated __new__. States are recorded inline, as
        # `TaskRun.record_state` would (a new run: Pending, Running, then the final state).
        emit(_tuple_new(TaskRunCreated, (run_id, run.name, task.name, task.task_key,
                                         flow_run_id, parameters, run.tags,
                                         runtime.clock.now(), run.call)))
        state = run_state(_PENDING, "Pending", flow_run_id, run_id)
        state._run_count = 0  # fresh states: their details are made when first read
        run.state = state
        emit(_tuple_new(StateChanged, (run_id, "task", state, 0)))
        for name, upstream_id in upstreams:
            emit(DependencyAdded(run_id, upstream_id, name))
        control = runtime.control
        if control.cancelled and control.cancel_requested(
            flow_ctx.cancel_scope if flow_ctx is not None else ()
        ):
            state = cancelled_before_start()
            details = state.state_details
            details.task_run_id, details.flow_run_id = run_id, flow_run_id
            run.record_state(state)
            emit(StateChanged(run_id, "task", state, run.run_count))
            task_run_line(ctx, logging.INFO, "Finished in state %s", state)
            return state, None
        args, kwargs = task._signature.to_call(parameters)
        running = run_state(_RUNNING, "Running", flow_run_id, run_id)
        running._run_count = run.run_count = 1
        run.start_time = started = running.timestamp_s
        run.state = running
        emit(_tuple_new(StateChanged, (run_id, "task", running, 1)))
        handed_back: Any = None
        try:
            # Submitted, a generator function's items are collected (`generators.py`).
            fn = task_callable(task) if task._isgenerator else task.fn
            value = fn(*args, **kwargs)
            if ctx.transaction is not None:  # the body asked for its transaction
                settle_plain(ctx.transaction, raised=False)
        except Exception as exc:
            if ctx.transaction is not None:
                settle_plain(ctx.transaction, raised=True)
            state = exception_to_failed_state(exc, "Task run encountered an exception")
            ctx.logger.error("Task run failed with exception: %r", exc,
                             exc_info=(type(exc), exc, exc.__traceback__))
        except BaseException as exc:  # Ctrl-C, SystemExit: the run crashed
            state = exception_to_crashed_state(exc)
            ctx.logger.error("Crash detected! %s", state.message)
        else:
            if value.__class__ in _PLAIN or plain_value(value):
                state = run_state(_COMPLETED, "Completed", flow_run_id, run_id, value)
                ended = state.timestamp_s
                state._run_count = 1
                run.total_run_time += ended - started
                run.end_time = ended
                run.state = state
                emit(_tuple_new(StateChanged, (run_id, "task", state, 1)))
                if _task_runs_logger.isEnabledFor(logging.INFO):
                    task_run_finished(ctx, state)
                return state, None
            state = return_value_to_state(value)
            if isinstance(value, State):
                handed_back = value
                if state.is_failed() or state.is_crashed():
                    ctx.logger.error("Task run failed with state: %r", state)
        details = state.state_details
        details.task_run_id, details.flow_run_id = run_id, flow_run_id
        run.record_state(state)
        emit(StateChanged(run_id, "task", state, run.run_count))
        level = logging.INFO if state.is_completed() else logging.ERROR
        task_run_line(ctx, level, "Finished in state %s", state)
        return state, handed_back
    except Exception as engine_exc:  # as in task_run_steps: the engine broke, not the task
        if run.state is not NOT_STARTED and not run.state.is_final():
            crashed = exception_to_crashed_state(engine_exc)
            crashed.state_details.task_run_id = run_id
            run.record_state(crashed)
            emit(StateChanged(run_id, "task", crashed, run.run_count))
            ctx.logger.error("Crash detected! %s", crashed.message)
        raise
    finally:
        task_run_var.reset(token)


_PENDING, _RUNNING, _COMPLETED = StateType.PENDING, StateType.RUNNING, StateType.COMPLETED
_PLAIN = frozenset({int, float, str, bytes, bool, type(None)})  # values that hold no State
_tuple_new = tuple.__new__
