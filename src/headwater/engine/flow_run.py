"""One flow run, from Pending to a final state: the logic, written once for sync and async.

`flow_run_steps` decides; `drivers.drive_sync` / `drivers.drive_async` perform its effects.
The final state is decided only by what the flow function returns or raises (Prefect's rule):
a task that failed inside a flow that went on to return normally leaves the flow Completed.
A cancel request is the exception: a flow run asked to stop ends `Cancelled`.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

from headwater.core._ids import generate_slug, uuid7
from headwater.core.annotations import quote
from headwater.core.context import FlowRunContext, current_tags, flow_run_var, task_run_var
from headwater.core.futures import TaskRunFuture
from headwater.core.runs import NOT_STARTED, FlowRun
from headwater.core.states import (
    AwaitingRetry,
    Cancelled,
    Cancelling,
    Failed,
    NotReady,
    Pending,
    Running,
    State,
    StateType,
    TimedOut,
    exception_to_crashed_state,
    exception_to_failed_state,
    return_value_to_state,
)
from headwater.engine import gc_pacing
from headwater.engine.drivers import Call, Outcome, Sleep, Steps, Wait
from headwater.engine.hooks import run_hooks
from headwater.engine.logs import ENGINE_LOGGER, flow_run_logger, printing_as_logs
from headwater.engine.resolution import collect_futures, needs_resolution, resolve
from headwater.engine.runtime import current_runtime
from headwater.engine.signals import sigterm_as_exception
from headwater.engine.submission import close_task_runner
from headwater.engine.task_run import resolve_run_name
from headwater.errors import FlowRunTimeoutError, UpstreamTaskError
from headwater.events.records import FlowRunCreated, RunRenamed, StateChanged

if TYPE_CHECKING:
    from headwater.core.flows import Flow
    from headwater.engine.resume import ResumePlan

FlowRunResult = tuple[FlowRun, State]
_COMPLETED = StateType.COMPLETED
_NO_DATA = Pending()._data  # what a state without data holds

class _Adoption(NamedTuple):
    run_id: UUID
    name: str
    resume: ResumePlan | None


# A flow run recorded ahead by another process (a deployment's run, created Scheduled and made
# Pending by the serve process that claimed it), or an earlier attempt being resumed: the next
# top-level flow run takes its id.
_adopted: contextvars.ContextVar[_Adoption | None] = contextvars.ContextVar(
    "headwater_adopted_flow_run", default=None
)


@contextmanager
def adopting_flow_run(
    run_id: UUID, name: str, resume: ResumePlan | None = None
) -> Iterator[None]:
    """The first top-level flow run started in the block is the flow run `run_id` already in
    the store (created, and made Pending, by whoever scheduled it): the engine records its
    states under that id and name, and neither creates it again nor records Pending again.
    With `resume`, it is a new attempt of that (finished) run: its run count goes on from the
    earlier attempts', it records Pending ("Resuming"), and calls that completed before take
    their results (`headwater.engine.resume`).

    Subflows, and flow runs after the first, get ids of their own as usual.
    """
    token = _adopted.set(_Adoption(run_id, name, resume))
    try:
        yield
    finally:
        _adopted.reset(token)


def entrypoint_of(flow: Flow[..., Any]) -> str | None:
    """`path/to/file.py:function` for a flow defined at the top of a file; else None."""
    fn = getattr(flow, "fn", None)
    qualname = getattr(fn, "__qualname__", "")
    module = sys.modules.get(getattr(fn, "__module__", "") or "")
    path = getattr(module, "__file__", None)
    if not path or not qualname or "." in qualname or not path.endswith(".py"):
        return None
    return f"{os.path.abspath(path)}:{qualname}"


def call_result(state: State, return_state: bool) -> Any:
    """The final State with `return_state`, else the result (raising a failed run's exception).

    Interrupts such as Ctrl-C are re-raised even with `return_state`.
    """
    if state.type is _COMPLETED and not return_state:
        data = state._data  # the common answer: a completed run's value
        if data is not _NO_DATA:
            return data
    data = state.data
    if state.is_crashed() and isinstance(data, BaseException) and not isinstance(data, Exception):
        raise data
    if return_state:
        return state
    return state._result()


def timeout_message(flow: Flow[..., Any]) -> str:
    """A TimedOut state's message. A flow without a timeout of its own times out too when a
    subflow's timeout error goes through it uncaught: "None second(s)", as Prefect says."""
    seconds = flow.timeout_seconds
    shown = "None" if seconds is None else f"{seconds:g}"
    return f"Flow run exceeded timeout of {shown} second(s)"


def _should_log_prints(flow: Flow[..., Any], parent: FlowRunContext | None) -> bool:
    if flow.log_prints is not None:
        return flow.log_prints
    if parent is not None:
        return parent.log_prints
    from headwater import settings

    return settings.log_prints()


def futures_to_states(value: Any) -> Any:
    """Futures in a flow's return value become their final states, in any builtin container
    (not inside `quote`), so the aggregate rule can see them."""
    if isinstance(value, TaskRunFuture):
        return value.state
    if not _holds_future(value):
        return value
    if isinstance(value, dict):
        return {k: futures_to_states(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [futures_to_states(v) for v in value]
        if isinstance(value, list):
            return items
        if hasattr(value, "_fields"):
            return type(value)(*items)
        return type(value)(items)
    return value


def _ignore(_: Any) -> None:
    return None


def _as_list(wait_for: Any) -> list[Any]:
    if wait_for is None:
        return []
    return list(wait_for) if isinstance(wait_for, (list, tuple, set)) else [wait_for]


def _holds_future(value: Any) -> bool:
    if isinstance(value, TaskRunFuture):
        return True
    if isinstance(value, (str, bytes, int, float, type(None), quote)):
        return False
    if isinstance(value, dict):
        return any(_holds_future(v) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds_future(v) for v in value)
    return False


def _cancelled(ctx: FlowRunContext, before_start: bool) -> State:
    asked = next((rid for rid in ctx.cancel_scope if ctx.runtime.control.requested_at(rid)),
                 ctx.flow_run.id)
    whom = "" if asked == ctx.flow_run.id else f" (its parent flow run {asked} was cancelled)"
    when = "before it started" if before_start else "while it ran"
    return Cancelled(message=f"Flow run was cancelled {when}{whom}.")


def flow_run_steps(
    flow: Flow[..., Any], parameters: dict[str, Any], wait_for: Any = None
) -> Steps[FlowRunResult]:
    """The life of one flow run. Returns (run, final state)."""
    parent = flow_run_var.get()
    parent_task = task_run_var.get()
    runtime = parent.runtime if parent is not None else current_runtime()
    emit = runtime.sink.emit
    clock = runtime.clock
    adopted = _adopted.get() if parent is None else None
    if adopted is not None:
        _adopted.set(None)  # once: a flow run it starts is a subflow, one after it is new
    resume = adopted.resume if adopted is not None else None
    identity = None
    if parent is not None:  # a subflow's place among its parent's calls of that flow
        calls, key = parent.calls, f"flow:{flow.name}"
        calls[key] = calls.get(key, 0) + 1
        identity = f"{flow.name}#{calls[key]}"
    run = FlowRun(
        adopted.run_id if adopted else uuid7(), adopted.name if adopted else generate_slug(),
        flow.name, flow.version, parameters, current_tags(),
        parent_flow_run_id=parent.flow_run.id if parent is not None else None,
        parent_task_run_id=parent_task.task_run.id if parent_task is not None else None,
    )
    if resume is not None:
        run.run_count = resume.run_count
    log_prints = _should_log_prints(flow, parent)
    logger = flow_run_logger(run, flow.name)
    # States come from the run's thread and, once, from whoever delivers a cancel request.
    state_lock = threading.Lock()

    def set_state(state: State) -> State:
        with state_lock:
            state.state_details.flow_run_id = run.id
            run.record_state(state)
            emit(StateChanged(run.id, "flow", state, run.run_count))
        return state

    def cancelling() -> None:
        with state_lock:
            if run.state is NOT_STARTED or run.state.is_final():
                return
            state = Cancelling(message="Cancel requested; stopping at the next step.")
            state.state_details.flow_run_id = run.id
            run.state = state  # the run's counters stay as they are
            emit(StateChanged(run.id, "flow", state, run.run_count))
        logger.info("Cancel requested: task runs not yet started will end Cancelled")

    # Parameters are validated, and the run named, before anything runs; a failure here is a
    # Failed run (recorded, hooks called) that never reached Running.
    setup_error: Exception | None = None
    failed_step = "Validation of flow parameters"
    upstream_error: UpstreamTaskError | None = None
    waits = _as_list(wait_for)
    if waits or any(needs_resolution(v) for v in parameters.values()):
        # A subflow given futures (as parameters or wait_for) waits for them, and does not
        # start at all if one of them did not complete.
        found: list[TaskRunFuture[Any]] = []
        for value in [*parameters.values(), waits]:
            collect_futures(value, found)
        pending = [f._future for f in found if not f.done()]
        if pending:
            yield Wait(pending)
        try:
            parameters = {name: resolve(value, _ignore) for name, value in parameters.items()}
            resolve(waits, _ignore)
        except UpstreamTaskError as upstream_exc:
            upstream_error = upstream_exc
    if upstream_error is None and flow.should_validate_parameters and flow.validator.needed:
        try:
            parameters = flow.validator.validate(parameters)
        except Exception as validation_exc:
            setup_error = validation_exc
    run.parameters = parameters
    if parent is not None and parent.resume is not None and identity is not None:
        from headwater.events._json import encode_json

        resume = parent.resume.subflow(identity, encode_json(parameters))
        if resume is not None:  # the subflow run of the earlier attempt goes on
            run.id, run.name, run.run_count = resume.flow_run_id, resume.name, resume.run_count
            logger.extra.update(flow_run_id=run.id, flow_run_name=run.name)  # type: ignore[union-attr]
    ctx = FlowRunContext(flow, run, parameters, log_prints, logger, runtime, flow.task_runner,
                         parent)
    if resume is not None:
        ctx.resume = resume
        resume.logger = logger
    paced = parent is None  # a top-level run sets the collector's pace (`gc_pacing.py`)
    young = gc_pacing.threshold() if paced else 0  # a bad setting stops the run here
    runtime.control.watch(run.id, cancelling)
    flow_token = flow_run_var.set(ctx)
    task_token = task_run_var.set(None)  # code in this flow belongs to it, not to a parent task
    stack = ExitStack()
    torn_down = False
    if paced:
        gc_pacing.enter(young)  # never raises: the `finally` below always leaves
    try:
        if (setup_error is None and upstream_error is None and flow.flow_run_name is not None
                and resume is None):
            failed_step = "Naming the run"
            try:
                run.name = resolve_run_name(
                    flow.flow_run_name, parameters, "flow_run_name", f"flow {flow.name!r}"
                )
                logger.extra["flow_run_name"] = run.name  # type: ignore[index]
            except Exception as naming_exc:
                setup_error = naming_exc
        if resume is not None:
            set_state(Pending(message=(
                f"Resuming: attempt {run.run_count + 1}; "
                f"{resume.completed} task runs completed in earlier attempts.")))
        elif adopted is None:
            emit(FlowRunCreated(run.id, run.name, flow.name, run.flow_version, parameters,
                                run.tags, run.parent_flow_run_id, run.parent_task_run_id,
                                clock.now(), identity,
                                entrypoint_of(flow) if parent is None else None))
            set_state(Pending())
        elif run.name != adopted.name:  # named by the flow's flow_run_name
            emit(RunRenamed(run.id, "flow", run.name))
        if upstream_error is not None:
            state = set_state(NotReady(message=str(upstream_error)))
            logger.error("Finished in state %s", state)
        elif setup_error is not None:
            message = (
                f"{failed_step} failed with error: {type(setup_error).__name__}: {setup_error}"
            )
            logging.getLogger(ENGINE_LOGGER).error(message)
            state = set_state(Failed(message=message, data=setup_error))
            logger.info("Finished in state %s", state)
            yield from run_hooks(flow, run, state, logger)
        elif runtime.control.cancel_requested(ctx.cancel_scope):
            state = set_state(_cancelled(ctx, before_start=True))
            logger.info("Finished in state %s", state)
            yield from run_hooks(flow, run, state, logger)
        else:
            state = yield from _run_body(flow, ctx, stack, set_state)
            set_state(state)
            # Always INFO, as Prefect: the failure itself was already logged at ERROR above.
            logger.info("Finished in state %s", state)
            # on_cancellation hooks answer a cancel request; a flow that returns a Cancelled
            # state (or an aggregate of them) was not cancelled, as in Prefect.
            if not state.is_cancelled() or runtime.control.cancel_requested(ctx.cancel_scope):
                yield from run_hooks(flow, run, state, logger)
        # Shutting the runner down and flushing the history block: effects, so an async flow's
        # event loop goes on meanwhile.
        torn_down = True
        stack.close()
        closed = yield Call(close_task_runner, (ctx,), {"cancel": state.is_crashed()},
                            blocking=True)
        _after_teardown(closed, logger, "Shutting down the task runner")
        if parent is None:  # a top-level run's history is durable once the call returns
            flushed = yield Call(runtime.sink.flush, blocking=True)
            _after_teardown(flushed, logger, "Flushing the run history")
        return run, state
    except Exception as engine_exc:
        # The engine itself broke (the flow's own exception became a state above): record the
        # run as Crashed rather than leave it Running.
        if run.state is not NOT_STARTED and not run.state.is_final():
            crashed = set_state(exception_to_crashed_state(engine_exc))
            logger.error("Crash detected! %s", crashed.message)
        raise
    finally:
        try:
            if not torn_down:
                stack.close()
                close_task_runner(ctx, cancel=run.state.is_crashed() or not run.state.is_final())
            runtime.control.forget(run.id)
            task_run_var.reset(task_token)
            flow_run_var.reset(flow_token)
            if parent is None and not torn_down:
                runtime.sink.flush()
        finally:
            if paced:  # whatever the teardown raised (a second Ctrl-C in a wait, say)
                gc_pacing.leave()


def _after_teardown(outcome: Outcome | None, logger: Any, what: str) -> None:
    """Teardown never changes the run's state: a failure is logged, an interrupt re-raised."""
    if outcome is None or outcome.exc is None:
        return
    if not isinstance(outcome.exc, Exception):
        raise outcome.exc
    logger.warning("%s failed after the run ended: %r", what, outcome.exc,
                   exc_info=(type(outcome.exc), outcome.exc, outcome.exc.__traceback__))


def _run_body(
    flow: Flow[..., Any], ctx: FlowRunContext, stack: ExitStack, set_state: Any
) -> Steps[State]:
    """Run the flow function, with retries; return the state it ends in (not yet recorded)."""
    run, logger, control = ctx.flow_run, ctx.logger, ctx.runtime.control
    if ctx.log_prints:
        stack.enter_context(printing_as_logs())
    if ctx.parent is None:
        stack.enter_context(sigterm_as_exception())
    args, kwargs = flow._signature.to_call(ctx.parameters)
    while True:
        logger.info("Beginning %sflow run %r for flow %r",
                    "sub" if ctx.parent is not None else "", run.name, flow.name)
        ctx.calls.clear()  # each run of the body meets the same identities (engine.resume)
        state = set_state(Running())
        yield from run_hooks(flow, run, state, logger)
        outcome = yield Call(
            flow.fn, args, kwargs, awaits=flow.isasync,
            timeout=flow.timeout_seconds, timeout_error=FlowRunTimeoutError,
        )
        assert outcome is not None
        if ctx.pending.count:  # a flow waits for everything it submitted
            yield Wait([ctx.pending.all_done()])
        exc = outcome.exc
        if exc is not None and not isinstance(exc, Exception):
            state = exception_to_crashed_state(exc)
            logger.error("Crash detected! %s", state.message)
            return state
        if control.cancel_requested(ctx.cancel_scope):
            return _cancelled(ctx, before_start=False)
        if exc is None:
            state = return_value_to_state(futures_to_states(outcome.value))
        elif isinstance(exc, FlowRunTimeoutError):
            logger.error("Encountered exception during execution: %r", exc)
            state = TimedOut(message=timeout_message(flow), data=exc)
        else:
            logger.error(
                "Encountered exception during execution: %r", exc,
                exc_info=(type(exc), exc, exc.__traceback__),
            )
            state = exception_to_failed_state(exc, "Flow run encountered an exception:")
        if state.is_completed() or run.run_count > flow.retries:
            return state
        delay = flow.retry_delay_seconds
        logger.info(
            "Received non-final state 'AwaitingRetry' when proposing final state %r and "
            "will attempt to run again (retry %d/%d)...",
            state.name, run.run_count, flow.retries,
        )
        set_state(AwaitingRetry(scheduled_time=ctx.runtime.clock.now() + delay))
        if delay > 0:
            yield Sleep(delay)
