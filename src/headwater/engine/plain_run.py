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
from headwater.core.transactions import settle_plain, transaction_open
from headwater.engine.generators import task_callable
from headwater.engine.logs import task_run_line, task_run_logger
from headwater.engine.task_run import TaskRunResult, cancelled_before_start, flow_context
from headwater.events.records import DependencyAdded, StateChanged, TaskRunCreated

if TYPE_CHECKING:
    from headwater.engine.execution import TaskRunRequest

def is_plain(request: TaskRunRequest) -> bool:
    """Whether a run uses none of the optional features, so `run_plain` can run it: no retries,
    hooks, timeout, persistence, printed logs, run-name template, lineage or enclosing
    transaction; sync; not blocked.
    A few attribute reads: decided per run, so a hook registered later counts."""
    task = request.task
    settings = request.settings
    return not (
        task.retries or task.isasync or task.timeout_seconds is not None
        or task.on_running_hooks or task.on_completion_hooks or task.on_failure_hooks
        or task.on_commit_hooks or task.on_rollback_hooks
        or task.retry_condition_fn is not None or task.task_run_name is not None
        or settings.log_prints or settings.persist_result or request.blocked is not None
        or request.resume is not None or assets_in_use() or transaction_open()
    )


def run_plain(request: TaskRunRequest) -> TaskRunResult:
    """A run `is_plain` accepted, in a straight line: the same records, states, logs and
    decisions as `task_run_steps` (the same functions make them), without the generator and
    its effects. `tests/engine/test_plain_runs.py` holds the two to the same records."""
    task = request.task
    run = request.task_run
    parameters = request.parameters
    flow_ctx, runtime, flow_token = flow_context(request)
    emit = runtime.sink.emit
    now = runtime.clock.now
    ctx = TaskRunContext(
        task, run, parameters, False, make_logger=task_run_logger,
        flow_run=flow_ctx.flow_run if flow_ctx is not None else None,
        flow_name=flow_ctx.flow.name if flow_ctx is not None else None,
    )
    token = task_run_var.set(ctx)
    run_id, flow_run_id = run.id, run.flow_run_id
    try:
        emit(TaskRunCreated(run_id, run.name, task.name, task.task_key, flow_run_id,
                            parameters, run.tags, now(), run.call))
        state = run_state(_PENDING, "Pending", flow_run_id, run_id)
        run.record_state(state)
        emit(StateChanged(run_id, "task", state, run.run_count))
        for name, upstream_id in request.upstreams:
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
            return run, state, None
        args, kwargs = task._signature.to_call(parameters)
        state = run_state(_RUNNING, "Running", flow_run_id, run_id)
        run.record_state(state)
        emit(StateChanged(run_id, "task", state, run.run_count))
        handed_back: Any = None
        try:
            value = task_callable(task.fn)(*args, **kwargs)
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
            if plain_value(value):
                state = run_state(_COMPLETED, "Completed", flow_run_id, run_id, value)
            else:
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
        return run, state, handed_back
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
        if flow_token is not None:
            flow_run_var.reset(flow_token)


_PENDING, _RUNNING, _COMPLETED = StateType.PENDING, StateType.RUNNING, StateType.COMPLETED
