"""One task run, from Pending to a final state: the logic, written once for sync and async.

`task_run_steps` decides; `engine.drive_sync` / `engine.drive_async` perform its effects.
"""

from __future__ import annotations

import inspect
import logging
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from headwater.core import lineage
from headwater.core import retries as retry_rules
from headwater.core._ids import short_key, uuid7
from headwater.core.assets import asset_context_var
from headwater.core.caching import plan_caching
from headwater.core.clock import current_clock
from headwater.core.context import (
    FlowRunContext,
    TaskRunContext,
    current_tags,
    flow_run_var,
    task_run_var,
)
from headwater.core.engine import Call, Sleep, Steps, Wait, drive_async, drive_sync
from headwater.core.futures import TaskRunFuture
from headwater.core.hooks import hooks_for, run_hooks
from headwater.core.logs import printing_as_logs, setup_logging, task_run_logger
from headwater.core.resolution import (
    collect_futures,
    collect_upstream_ids,
    needs_resolution,
    resolve,
)
from headwater.core.runs import NOT_STARTED, TaskRun
from headwater.core.states import (
    AwaitingRetry,
    Cached,
    Failed,
    NotReady,
    Pending,
    Retrying,
    Running,
    State,
    TimedOut,
    exception_to_crashed_state,
    exception_to_failed_state,
    return_value_to_state,
)
from headwater.errors import RunNameError, TaskRunTimeoutError, UpstreamTaskError
from headwater.events import current_sink
from headwater.events.records import DependencyAdded, StateChanged, TaskRunCreated

if TYPE_CHECKING:
    from headwater.core.tasks import Task
    from headwater.events.base import EventSink

TaskRunResult = tuple[TaskRun, State, Any]


def run_task_sync(
    task: Task[..., Any], parameters: dict[str, Any], wait_for: Any, return_state: bool
) -> Any:
    """Run a sync task in this thread; return what the caller of `task(...)` gets."""
    setup_logging()
    _, state, handed_back = drive_sync(task_run_steps(task, parameters, wait_for))
    return call_result(state, handed_back, return_state)


async def run_task_async(
    task: Task[..., Any], parameters: dict[str, Any], wait_for: Any, return_state: bool
) -> Any:
    """Run an async task on the running loop; return what awaiting `task(...)` gives."""
    setup_logging()
    _, state, handed_back = await drive_async(task_run_steps(task, parameters, wait_for))
    return call_result(state, handed_back, return_state)


def call_result(state: State, handed_back: Any, return_state: bool) -> Any:
    """What a direct task call returns, as in Prefect.

    The final State with `return_state`; a State the function itself returned, as it is;
    None for a task that never ran because an upstream failed; else the result, which raises
    the task's own exception if it failed. Interrupts (Ctrl-C) are always re-raised.
    """
    data = state.data
    if state.is_crashed() and isinstance(data, BaseException) and not isinstance(data, Exception):
        raise data
    if return_state:
        return state
    if handed_back is not None:
        return handed_back
    if state.name == "NotReady":
        return None
    return state.result()


def new_task_run(
    task: Task[..., Any], parameters: dict[str, Any], flow_ctx: FlowRunContext | None
) -> TaskRun:
    tags = frozenset(task.tags) | current_tags() if task.tags else current_tags()
    if flow_ctx is None:
        return TaskRun(uuid7(), task.name, task.name, task.task_key, None, parameters, tags)
    return TaskRun(
        uuid7(), f"{task.name}-{short_key()}", task.name, task.task_key,
        flow_ctx.flow_run.id, parameters, tags,
    )


def resolve_run_name(template: Any, parameters: dict[str, Any], option: str, owner: str) -> str:
    """A run name from a `str.format` template over the parameters, or from a callable."""
    if isinstance(template, str):
        try:
            return template.format(**parameters)
        except (KeyError, IndexError, AttributeError, ValueError) as exc:
            raise RunNameError(
                f"{option}={template!r} on {owner} could not be filled in: {exc!r}. Templates "
                f"may use the parameters {sorted(parameters)}, "
                f"e.g. '{{{next(iter(parameters), 'x')}}}'.",
                option=option,
                value=template,
            ) from None
    if "parameters" in _parameter_names(template):
        name = template(parameters=parameters)
    else:
        name = template()
    if not isinstance(name, str):
        raise RunNameError(
            f"Callable {template!r} for {option!r} on {owner} returned {type(name).__name__} "
            f"{name!r}, but a run name must be a string.",
            option=option,
            value=template,
        )
    return name


def _parameter_names(fn: Any) -> tuple[str, ...]:
    try:
        return tuple(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return ()


def _should_log_prints(task: Task[..., Any], flow_ctx: FlowRunContext | None) -> bool:
    if task.log_prints is not None:
        return task.log_prints
    if flow_ctx is not None:
        return flow_ctx.log_prints
    from headwater import settings

    return settings.log_prints()


def task_run_steps(
    task: Task[..., Any],
    parameters: dict[str, Any],
    wait_for: Any = None,
    *,
    task_run: TaskRun | None = None,
    sink: EventSink | None = None,
) -> Steps[TaskRunResult]:
    """The life of one task run. Returns (run, final state, State the function returned)."""
    flow_ctx = flow_run_var.get()
    if sink is None:
        sink = flow_ctx.sink if flow_ctx is not None else current_sink()
    run = task_run if task_run is not None else new_task_run(task, parameters, flow_ctx)
    emit = sink.emit
    flow_run = flow_ctx.flow_run if flow_ctx is not None else None
    flow_name = flow_ctx.flow.name if flow_ctx is not None else None
    log_prints = _should_log_prints(task, flow_ctx)
    logger = task_run_logger(run, flow_run, flow_name)
    ctx = TaskRunContext(task, run, parameters, log_prints, logger)
    token = task_run_var.set(ctx)
    stack = ExitStack() if log_prints else None
    try:
        if task.task_run_name is not None:
            run.name = resolve_run_name(
                task.task_run_name, parameters, "task_run_name", f"task {task.name!r}"
            )
            logger.extra["task_run_name"] = run.name  # type: ignore[index]
        emit(TaskRunCreated(run.id, run.name, task.name, task.task_key, run.flow_run_id,
                            parameters, run.tags, current_clock().now()))

        def set_state(state: State) -> State:
            details = state.state_details
            details.task_run_id = run.id
            details.flow_run_id = run.flow_run_id
            run.record_state(state)
            emit(StateChanged(run.id, "task", state, run.run_count))
            return state

        set_state(Pending())
        upstreams: list[Any] = []
        if wait_for is not None or _any_needs_resolution(parameters):
            try:
                parameters = yield from _resolve_inputs(
                    run, parameters, wait_for, emit, upstreams
                )
            except UpstreamTaskError as upstream_exc:
                state = set_state(NotReady(message=str(upstream_exc)))
                logger.error("Finished in state %s", state)
                return run, state, None
            ctx.parameters = parameters
        if stack is not None:
            stack.enter_context(printing_as_logs())
        args, kwargs = task._signature.to_call(parameters)
        asset_ctx = lineage.begin(task, run, flow_ctx, parameters, upstreams)
        if asset_ctx is not None:
            asset_token = asset_context_var.set(asset_ctx)
            stack = stack or ExitStack()
            stack.callback(asset_context_var.reset, asset_token)
        plan = plan_caching(task, ctx, flow_ctx, logger)
        state = set_state(Running())
        if task.on_running_hooks:
            yield from run_hooks(task, run, state, logger)
        if plan is not None and plan.lock_manager is not None:
            yield Call(plan.lock_manager.acquire, (plan.key,))
            stack = stack or ExitStack()
            stack.callback(plan.lock_manager.release, plan.key)
        hit, cached = plan.lookup(logger) if plan is not None else (False, None)
        if hit:
            lineage.link_result(flow_ctx, run.id, cached)
            state = set_state(Cached(data=cached))
            state.state_details.cache_key = plan.key  # type: ignore[union-attr]
            logger.engine(logging.INFO, "Finished in state %s", state)
            if hooks_for(task, state):
                yield from run_hooks(task, run, state, logger)
            return run, state, None
        handed_back: Any = None
        while True:
            outcome = yield Call(
                task.fn, args, kwargs, awaits=task.isasync,
                timeout=task.timeout_seconds, timeout_error=TaskRunTimeoutError,
            )
            assert outcome is not None
            exc = outcome.exc
            handed_back = None
            if exc is None:
                state = return_value_to_state(outcome.value)
                if isinstance(outcome.value, State):
                    handed_back = outcome.value
                if not state.is_failed() and not state.is_crashed():
                    break
                failure: str = f"Task run failed with state: {state!r}"
            elif not isinstance(exc, Exception):
                state = exception_to_crashed_state(exc)
                logger.error("Crash detected! %s", state.message)
                break
            elif isinstance(exc, TaskRunTimeoutError):
                failure = f"Task run failed with exception: {exc!r}"
                state = TimedOut(
                    message=f"Task run exceeded timeout of {task.timeout_seconds:g} second(s)",
                    data=exc,
                )
            else:
                failure = f"Task run failed with exception: {exc!r}"
                state = exception_to_failed_state(exc, "Task run encountered an exception")

            retry_number = run.run_count  # the retry that would come next
            should_retry = retry_rules.retries_left(run.run_count, task.retries)
            if should_retry and task.retry_condition_fn is not None:
                should_retry = yield from _ask_retry_condition(task, run, state, exc, logger)
            if not should_retry:
                exhausted = task.retries > 0 and not retry_rules.retries_left(
                    run.run_count, task.retries
                )
                logger.error(
                    "%s%s", failure, " - Retries are exhausted" if exhausted else "",
                    exc_info=(type(exc), exc, exc.__traceback__) if exc is not None else None,
                )
                if state.name == "TimedOut":
                    logger.error("%s", state.message)
                break
            delay = retry_rules.apply_jitter(
                retry_rules.retry_delay(task.retry_delay_seconds, retry_number),
                task.retry_jitter_factor,
            )
            when = f"{delay:g} second(s) from now" if delay > 0 else "immediately"
            logger.info("%s - Retry %d/%d will start %s", failure, retry_number, task.retries,
                        when)
            if delay > 0:
                set_state(AwaitingRetry(scheduled_time=current_clock().now() + delay))
                yield Sleep(delay)
            state = set_state(Retrying())
            if task.on_running_hooks:
                yield from run_hooks(task, run, state, logger)

        if plan is not None and state.is_completed() and handed_back is None:
            plan.save(state.data, logger)
        if state.is_completed():
            lineage.link_result(flow_ctx, run.id, state.data)
        set_state(state)
        lineage.finish(asset_ctx, run, state, emit, current_clock().now())
        logger.engine(
            logging.INFO if state.is_completed() else logging.ERROR, "Finished in state %s", state
        )
        if hooks_for(task, state):
            yield from run_hooks(task, run, state, logger)
        return run, state, handed_back
    except Exception as engine_exc:
        # Not the task's own failure (that became a state above): the engine, a cache store
        # or a hook runner broke. Record the run as Crashed rather than leave it Pending.
        if run.state is not NOT_STARTED and not run.state.is_final():
            crashed = exception_to_crashed_state(engine_exc)
            crashed.state_details.task_run_id = run.id
            run.record_state(crashed)
            emit(StateChanged(run.id, "task", crashed, run.run_count))
            logger.error("Crash detected! %s", crashed.message)
        raise
    finally:
        if stack is not None:
            stack.close()
        task_run_var.reset(token)


def _any_needs_resolution(parameters: dict[str, Any]) -> bool:
    return any(needs_resolution(value) for value in parameters.values())


def _resolve_inputs(
    run: TaskRun, parameters: dict[str, Any], wait_for: Any, emit: Any, upstreams: list[Any]
) -> Steps[dict[str, Any]]:
    """Wait for upstream futures, then swap them for their results; record each dependency.

    Raises:
        UpstreamTaskError: an upstream did not complete (and was not wrapped in allow_failure).
    """
    found: list[TaskRunFuture[Any]] = []
    for value in parameters.values():
        collect_futures(value, found)
    waits = _as_list(wait_for)
    collect_futures(waits, found)
    pending = [f._future for f in found if not f.done()]
    if pending:
        yield Wait(pending)
    # Every upstream is recorded first, so a NotReady run still shows all of its inputs.
    for name, value in [*parameters.items(), *([("wait_for", waits)] if waits else [])]:
        def record(upstream: Any, name: str = name) -> None:
            upstreams.append(upstream)
            emit(DependencyAdded(run.id, upstream, name))

        collect_upstream_ids(value, record)
    resolved = {name: resolve(value, _ignore) for name, value in parameters.items()}
    if waits:
        resolve(waits, _ignore)  # raises if an upstream it waits for did not complete
    return resolved


def _ignore(_: Any) -> None:
    return None


def _as_list(wait_for: Any) -> list[Any]:
    if wait_for is None:
        return []
    if isinstance(wait_for, (list, tuple, set)):
        return list(wait_for)
    return [wait_for]


def _ask_retry_condition(
    task: Task[..., Any], run: TaskRun, state: State, exc: BaseException | None,
    logger: logging.LoggerAdapter,  # type: ignore[type-arg]
) -> Steps[bool]:
    fn = task.retry_condition_fn
    assert fn is not None
    failed = Failed(
        message=f"Task run encountered unexpected exception: {exc!r}" if exc else state.message,
        data=exc if exc is not None else state,
    )
    failed.state_details.task_run_id = run.id
    outcome = yield Call(fn, (task, run, failed), awaits=inspect.iscoroutinefunction(fn))
    assert outcome is not None
    if outcome.exc is not None:
        if not isinstance(outcome.exc, Exception):
            raise outcome.exc
        logger.error(
            "An error was encountered while running `retry_condition_fn` %r: %r. "
            "Not retrying; fix the function so it returns True or False.",
            getattr(fn, "__name__", fn), outcome.exc,
            exc_info=(type(outcome.exc), outcome.exc, outcome.exc.__traceback__),
        )
        return False
    return bool(outcome.value)
