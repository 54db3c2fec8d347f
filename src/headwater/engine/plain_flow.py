"""Plain subflow runs in a straight line: what most subflow calls are (sync, called from a flow
run, no retries, timeout, hooks, run-name template, printed logs or resume; nothing to wait for).

`run_plain_subflow` makes the same records, states, logs and decisions as
`flow_run.flow_run_steps` (the same functions make them), without the generator, its effects
and the objects they need; `tests/engine/test_plain_subflows.py` holds the two to the same
records.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from headwater.core._ids import generate_slug, uuid7
from headwater.core.context import FlowRunContext, flow_run_var, tags_var, task_run_var
from headwater.core.runs import NOT_STARTED, FlowRun
from headwater.core.states import (
    Cancelling,
    State,
    StateType,
    TimedOut,
    exception_to_crashed_state,
    exception_to_failed_state,
    return_value_to_state,
    run_state,
)
from headwater.engine.drivers import run_coro_sync
from headwater.engine.flow_run import (
    FlowRunResult,
    _cancelled,
    futures_to_states,
    timeout_message,
)
from headwater.engine.logs import _flow_runs_logger, flow_run_logger
from headwater.engine.submission import all_plain, close_task_runner
from headwater.errors import FlowRunTimeoutError
from headwater.events.records import FlowRunCreated, StateChanged

if TYPE_CHECKING:
    from headwater.core.flows import Flow


def is_plain_subflow(
    flow: Flow[..., Any], parameters: dict[str, Any], wait_for: Any,
    parent: FlowRunContext | None,
) -> bool:
    """Whether a call of `flow` can run as a plain subflow: inside a flow run that does not
    resume, with nothing to wait for or resolve, and none of the flow's optional features."""
    return (
        parent is not None and wait_for is None and parent.resume is None
        and not flow.retries and flow.timeout_seconds is None and flow.flow_run_name is None
        and not (flow.on_running_hooks or flow.on_completion_hooks or flow.on_failure_hooks
                 or flow.on_cancellation_hooks or flow.on_crashed_hooks)
        and not (flow.log_prints if flow.log_prints is not None else parent.log_prints)
        and all_plain(parameters)
    )


def run_plain_subflow(
    flow: Flow[..., Any], parameters: dict[str, Any], parent: FlowRunContext
) -> FlowRunResult | None:
    """A run `is_plain_subflow` accepted, in a straight line. None, having recorded nothing,
    when its parameters fail validation: the general path then records that failure."""
    if flow.should_validate_parameters and flow.validator.needed:
        try:
            parameters = flow.validator.validate(parameters)
        except Exception:
            return None
    runtime = parent.runtime
    emit = runtime.sink.emit
    control = runtime.control
    name = flow.name
    calls, key = parent.calls, f"flow:{name}"  # its place among its parent's calls of `flow`
    calls[key] = count = calls.get(key, 0) + 1
    parent_task = task_run_var.get()
    run = FlowRun(uuid7(), generate_slug(), name, flow.version, parameters, tags_var.get(),
                  parent.flow_run.id, parent_task.task_run.id if parent_task is not None else None)
    run_id = run.id
    template = flow._task_runner  # what `flow.task_runner` gives, without its frame once set
    ctx = FlowRunContext(flow, run, parameters, False, None, runtime,
                         template if template is not None else flow.task_runner, parent,
                         flow_run_logger)
    state_lock = threading.Lock()  # as in flow_run_steps: a cancel request may record a state

    def cancelling() -> None:
        with state_lock:
            if run.state is NOT_STARTED or run.state.is_final():
                return
            state = Cancelling(message="Cancel requested; stopping at the next step.")
            state.state_details.flow_run_id = run_id
            run.state = state
            emit(StateChanged(run_id, "flow", state, run.run_count))
        ctx.logger.info("Cancel requested: task runs not yet started will end Cancelled")

    control.watch(run_id, cancelling)
    flow_token = flow_run_var.set(ctx)
    task_token = task_run_var.set(None)  # code in this flow belongs to it, not to a parent task
    torn_down = False
    info = _flow_runs_logger.isEnabledFor(logging.INFO)
    try:
        emit(_tuple_new(FlowRunCreated, (
            run_id, run.name, name, run.flow_version, parameters, run.tags,
            run.parent_flow_run_id, run.parent_task_run_id, runtime.clock.now(),
            f"{name}#{count}", None)))
        pending = run_state(_PENDING, "Pending", run_id, None)
        with state_lock:  # recorded as set_state would, for a new run (run count 0)
            pending._run_count = 0  # a fresh state: its details are not made yet
            run.state = pending
            emit(_tuple_new(StateChanged, (run_id, "flow", pending, 0)))
        if control.cancelled and control.cancel_requested(ctx.cancel_scope):
            state = _set_state(run, _cancelled(ctx, before_start=True), state_lock, emit)
            ctx.logger.info("Finished in state %s", state)
        else:
            state = _body(flow, ctx, state_lock, info)
            with state_lock:  # set_state, inline
                state.state_details.flow_run_id = run_id
                run.record_state(state)
                emit(_tuple_new(StateChanged, (run_id, "flow", state, run.run_count)))
            if info:
                ctx.logger.info("Finished in state %s", state)
        torn_down = True
        if ctx.runner is None:  # nothing was submitted: no runner to shut down
            return run, state
        try:
            close_task_runner(ctx, cancel=state.type is _CRASHED)
        except Exception as exc:  # as flow_run_steps: teardown never changes the run's state
            ctx.logger.warning("%s failed after the run ended: %r",
                               "Shutting down the task runner", exc,
                               exc_info=(type(exc), exc, exc.__traceback__))
        return run, state
    except Exception as engine_exc:
        if run.state is not NOT_STARTED and not run.state.is_final():
            crashed = _set_state(run, exception_to_crashed_state(engine_exc), state_lock, emit)
            ctx.logger.error("Crash detected! %s", crashed.message)
        raise
    finally:
        if not torn_down and ctx.runner is not None:
            close_task_runner(ctx, cancel=run.state.is_crashed() or not run.state.is_final())
        control.forget(run_id)
        task_run_var.reset(task_token)
        flow_run_var.reset(flow_token)


def _set_state(run: FlowRun, state: State, state_lock: threading.Lock, emit: Any) -> State:
    """Record `state` as flow_run_steps's `set_state` does."""
    with state_lock:
        state.state_details.flow_run_id = run.id
        run.record_state(state)
        emit(StateChanged(run.id, "flow", state, run.run_count))
    return state


def _body(flow: Flow[..., Any], ctx: FlowRunContext, state_lock: threading.Lock,
          info: bool) -> State:
    """Run the flow function once; return the state it ends in (not yet recorded)."""
    run = ctx.flow_run
    args, kwargs = flow._signature.to_call(ctx.parameters)
    if info:
        ctx.logger.info("Beginning subflow run %r for flow %r", run.name, flow.name)
    ctx.calls.clear()
    running = run_state(_RUNNING, "Running", run.id, None)
    with state_lock:  # recorded as set_state would, after Pending: the first attempt
        running._run_count = run.run_count = 1
        run.start_time = running.timestamp_s
        run.state = running
        ctx.sink.emit(_tuple_new(StateChanged, (run.id, "flow", running, 1)))
    exc: BaseException | None = None
    try:
        value = flow.fn(*args, **kwargs)
        if isinstance(value, CoroutineType):  # a sync function that returned a coroutine
            value = run_coro_sync(value)
    except BaseException as raised:  # the run logic decides what each exception means
        exc = raised
    if ctx.pending.count:  # a flow waits for everything it submitted
        concurrent.futures.wait([ctx.pending.all_done()])
    if exc is not None and not isinstance(exc, Exception):
        state = exception_to_crashed_state(exc)
        ctx.logger.error("Crash detected! %s", state.message)
        return state
    control = ctx.runtime.control
    if control.cancelled and control.cancel_requested(ctx.cancel_scope):
        return _cancelled(ctx, before_start=False)
    if exc is None:
        if value.__class__ in _PLAIN:  # what return_value_to_state would make, made directly
            return run_state(_COMPLETED, "Completed", None, None, value)
        return return_value_to_state(futures_to_states(value))
    if isinstance(exc, FlowRunTimeoutError):
        ctx.logger.error("Encountered exception during execution: %r", exc)
        return TimedOut(message=timeout_message(flow), data=exc)  # a subflow's, uncaught
    ctx.logger.error("Encountered exception during execution: %r", exc,
                     exc_info=(type(exc), exc, exc.__traceback__))
    return exception_to_failed_state(exc, "Flow run encountered an exception:")


_PENDING, _RUNNING, _CRASHED = StateType.PENDING, StateType.RUNNING, StateType.CRASHED
_COMPLETED = StateType.COMPLETED
_PLAIN = frozenset({int, float, str, bytes, bool, type(None)})  # values that hold no State
_tuple_new = tuple.__new__  # builds a named tuple without its Python-level __new__
