"""One task run, from Pending to a final state: the logic, written once for sync and async.

`task_run_steps(request)` decides; `drivers.drive_sync` / `drivers.drive_async` perform its
effects. Blocking work (a lock, a cache read or write) is a `Call(..., blocking=True)` effect,
which the async driver runs off its event loop.
"""

from __future__ import annotations

import inspect
import logging
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from headwater.core._ids import short_key, uuid7
from headwater.core.assets import asset_context_var
from headwater.core.context import (
    FlowRunContext,
    TaskRunContext,
    flow_run_var,
    tags_var,
    task_run_var,
)
from headwater.core.runs import NOT_STARTED, FlowRun, TaskRun
from headwater.core.states import (
    AwaitingRetry,
    Cached,
    Cancelled,
    Completed,
    Failed,
    Pending,
    Retrying,
    Running,
    State,
    StateType,
    TimedOut,
    exception_to_crashed_state,
    exception_to_failed_state,
    return_value_to_state,
)
from headwater.core.transactions import Transaction, task_transaction
from headwater.engine import lineage
from headwater.engine import retries as retry_rules
from headwater.engine.caching import plan_caching
from headwater.engine.drivers import Call, Sleep, Steps
from headwater.engine.generators import task_callable
from headwater.engine.hooks import hooks_for, run_hooks
from headwater.engine.logs import flow_run_logger, printing_as_logs, task_run_logger
from headwater.engine.runtime import Runtime, current_runtime
from headwater.errors import RunNameError, TaskRunTimeoutError
from headwater.events.records import DependencyAdded, StateChanged, TaskRunCreated

if TYPE_CHECKING:
    from uuid import UUID

    from headwater.core.tasks import Task
    from headwater.engine.caching import CachePlan
    from headwater.engine.execution import FlowRunFacts, TaskRunRequest

TaskRunResult = tuple[TaskRun, State, Any]
_COMPLETED = StateType.COMPLETED
_NO_DATA = Completed()._data  # what a state without data holds


def call_result(state: State, handed_back: Any, return_state: bool) -> Any:
    """What a direct task call returns, as in Prefect.

    The final State with `return_state`; a State the function itself returned, as it is;
    None for a task that never ran because an upstream failed; else the result, which raises
    the task's own exception if it failed. Interrupts (Ctrl-C) are always re-raised.
    """
    if state.type is _COMPLETED and handed_back is None and not return_state:
        data = state._data  # the common answer: a completed run's value
        if data is not _NO_DATA:
            return data
    data = state.data
    if state.is_crashed() and isinstance(data, BaseException) and not isinstance(data, Exception):
        raise data
    if return_state:
        return state
    if handed_back is not None:
        return handed_back
    if state.name == "NotReady":
        return None
    return state._result()


def new_task_run(
    task: Task[..., Any], parameters: dict[str, Any], flow_ctx: FlowRunContext | None,
    call: int | str | None = None,
) -> TaskRun:
    """A new run of `task`; inside a flow run it is the task's next call there (its identity),
    unless `call` says which it is (an element of a `.map`)."""
    tags = frozenset(task.tags) | tags_var.get() if task.tags else tags_var.get()
    if flow_ctx is None:
        return TaskRun(uuid7(), task.name, task.name, task.task_key, None, parameters, tags)
    if call is None:
        calls, key = flow_ctx.calls, task.task_key
        call = calls[key] = calls.get(key, 0) + 1
    name = task.name
    return TaskRun(uuid7(), f"{name}-{short_key()}", name, task.task_key, flow_ctx.flow_run.id,
                   parameters, tags, call)


def next_call(task: Task[..., Any], flow_ctx: FlowRunContext) -> int:
    """Count one call of `task` in the flow run (a `.map`, whose elements share it)."""
    calls, key = flow_ctx.calls, task.task_key
    call = calls[key] = calls.get(key, 0) + 1
    return call


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


class _FlowStandIn:
    """The flow of a task run executing in another process: what the engine and user code read
    of a `Flow` there (its name and result settings), built from the flow run's facts."""

    def __init__(self, facts: FlowRunFacts) -> None:
        self.name = facts.flow_name
        self.version = facts.flow_version
        self.persist_result = facts.persist_result
        self.result_storage = facts.result_storage
        self.result_serializer = facts.result_serializer
        self.log_prints = facts.log_prints
        self.task_runner = None

    def __repr__(self) -> str:
        return f"Flow(name={self.name!r}) (in another process)"


def flow_context(request: TaskRunRequest) -> tuple[FlowRunContext | None, Runtime, Any]:
    """The flow run context a request runs in: the live one when the flow runs in this process,
    else a stand-in built from its facts. Returns (context, runtime, token to reset or None)."""
    facts = request.flow_run
    live = flow_run_var.get()
    if facts is None:
        return None, live.runtime if live is not None else current_runtime(), None
    if live is not None and (live.facts is facts or live.flow_run.id == facts.id):
        return live, live.runtime, None
    runtime = current_runtime()
    flow_run = FlowRun(facts.id, facts.name, facts.flow_name, facts.flow_version,
                       facts.parameters, facts.tags, facts.parent_flow_run_id,
                       facts.parent_task_run_id)
    stand_in: Any = _FlowStandIn(facts)
    ctx = FlowRunContext(stand_in, flow_run, facts.parameters, facts.log_prints,
                         flow_run_logger(flow_run, facts.flow_name), runtime)
    ctx.cancel_scope = facts.cancel_scope
    ctx.facts = facts
    if request.upstream_assets is not None:
        from headwater.core.assets import mark_assets_in_use

        mark_assets_in_use()
        ctx.lineage = lineage.Lineage({k: set(v) for k, v in request.upstream_assets.items()})
    return ctx, runtime, flow_run_var.set(ctx)


def task_run_steps(request: TaskRunRequest) -> Steps[TaskRunResult]:
    """The life of one task run. Returns (run, final state, State the function returned)."""
    task = request.task
    run = request.task_run
    parameters = request.parameters
    flow_ctx, runtime, flow_token = flow_context(request)
    emit = runtime.sink.emit
    clock = runtime.clock
    flow_run = flow_ctx.flow_run if flow_ctx is not None else None
    flow_name = flow_ctx.flow.name if flow_ctx is not None else None
    log_prints = request.settings.log_prints
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
                            parameters, run.tags, clock.now(), run.call))

        def set_state(state: State) -> State:
            details = state.state_details
            details.task_run_id = run.id
            details.flow_run_id = run.flow_run_id
            run.record_state(state)
            emit(StateChanged(run.id, "task", state, run.run_count))
            return state

        set_state(Pending())
        for name, upstream_id in request.upstreams:
            emit(DependencyAdded(run.id, upstream_id, name))
        if request.blocked is not None:
            state = set_state(request.blocked)
            logger.error("Finished in state %s", state)
            return run, state, None
        scope = flow_ctx.cancel_scope if flow_ctx is not None else ()
        control = runtime.control
        if control.cancelled and control.cancel_requested(scope):
            state = set_state(cancelled_before_start())
            logger.engine(logging.INFO, "Finished in state %s", state)
            return run, state, None
        if stack is not None:
            stack.enter_context(printing_as_logs())
        args, kwargs = task._signature.to_call(parameters)
        upstream_ids = [upstream_id for _, upstream_id in request.upstreams]
        asset_ctx = lineage.begin(task, run, flow_ctx, parameters, upstream_ids)
        if asset_ctx is not None:
            asset_token = asset_context_var.set(asset_ctx)
            stack = stack or ExitStack()
            stack.callback(asset_context_var.reset, asset_token)
        plan = None
        if request.settings.persist_result:
            plan = plan_caching(task, ctx, flow_ctx, logger)
        resume = request.resume
        if resume is not None and plan is not None:
            if resume.__class__ is str:  # resuming stopped: run, whatever was cached before
                plan.refresh = True
            else:
                found = yield Call(_earlier_result, (plan, resume, logger), blocking=True)
                assert found is not None
                if found.exc is not None:
                    raise found.exc
                if found.value[0]:
                    cached = found.value[1]
                    lineage.link_result(flow_ctx, run.id, cached)
                    state = set_state(Completed(data=cached,
                                                message=f"Resumed from task run {resume}"))
                    state.state_details.cache_key = plan.key
                    logger.engine(logging.INFO, "Finished in state %s", state)
                    if hooks_for(task, state):
                        yield from run_hooks(task, run, state, logger)
                    return run, state, None
        state = set_state(Running())
        if task.on_running_hooks:
            yield from run_hooks(task, run, state, logger)
        if plan is not None and plan.lock_manager is not None:
            yield Call(plan.lock_manager.acquire, (plan.key,), blocking=True)
            stack = stack or ExitStack()
            stack.callback(plan.lock_manager.release, plan.key)
        hit, cached = False, None
        if plan is not None and plan.key is not None and not plan.refresh:
            found = yield Call(plan.lookup, (logger,), blocking=True)
            assert found is not None
            if found.exc is not None:
                raise found.exc
            hit, cached = found.value
        if hit:
            assert plan is not None
            lineage.link_result(flow_ctx, run.id, cached)
            state = set_state(Cached(data=cached))
            state.state_details.cache_key = plan.key
            logger.engine(logging.INFO, "Finished in state %s", state)
            if hooks_for(task, state):
                yield from run_hooks(task, run, state, logger)
            return run, state, None
        handed_back: Any = None
        rolled_back = rolled_back_hook(run, emit)
        while True:
            # Each attempt runs in a transaction of its own (get_transaction() in the body).
            txn = ctx.transaction = task_transaction(ctx, plan)
            txn.begin()
            outcome = yield Call(
                task_callable(task), args, kwargs, awaits=task.isasync,
                timeout=task.timeout_seconds, timeout_error=TaskRunTimeoutError,
            )
            assert outcome is not None
            txn.close()
            exc = outcome.exc
            handed_back = None
            settled = exc is not None
            if settled:  # rolls back, and so does the enclosing transaction
                yield from _settle(txn, raised=True)
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
            if should_retry and control.cancel_requested(scope):
                logger.info("%s - Not retrying: the flow run was cancelled", failure)
                should_retry = False
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
            if not settled:  # a returned Failed state, retried: nothing staged or undone
                yield from _settle(txn, raised=False)
                settled = True
            delay = retry_rules.apply_jitter(
                retry_rules.retry_delay(task.retry_delay_seconds, retry_number),
                task.retry_jitter_factor,
            )
            when = f"{delay:g} second(s) from now" if delay > 0 else "immediately"
            logger.info("%s - Retry %d/%d will start %s", failure, retry_number, task.retries,
                        when)
            if delay > 0:
                set_state(AwaitingRetry(scheduled_time=clock.now() + delay))
                yield Sleep(delay)
            if control.cancel_requested(scope):
                state = cancelled_before_start("its next retry")
                break
            state = set_state(Retrying())
            if task.on_running_hooks:
                yield from run_hooks(task, run, state, logger)

        if state.is_completed():
            lineage.link_result(flow_ctx, run.id, state.data)
        set_state(state)
        lineage.finish(asset_ctx, run, state, emit, clock.now())
        logger.engine(
            logging.INFO if state.is_completed() or state.is_cancelled() else logging.ERROR,
            "Finished in state %s", state,
        )
        if not settled:  # stage the result: committed (and persisted) now or with the block
            if plan is not None and handed_back is None:
                txn._write = lambda value: plan.save(value, logger)
            else:
                txn.write_on_commit = False
            if state.is_completed():
                txn.stage(state.data, [rolled_back, *task.on_rollback_hooks],
                          task.on_commit_hooks)
            else:
                txn.stage(state.data, list(task.on_rollback_hooks), task.on_commit_hooks)
                txn.rollback()
            yield from _settle(txn, raised=False)
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
        if flow_token is not None:
            flow_run_var.reset(flow_token)


def _settle(txn: Transaction, raised: bool) -> Steps[None]:
    """Decide a task run's transaction (commit hooks, result write): blocking, as it may
    write the result or run hooks that do I/O."""
    outcome = yield Call(txn.settle, (raised,), blocking=True)
    if outcome is not None and outcome.exc is not None:
        raise outcome.exc


def rolled_back_hook(run: TaskRun, emit: Any) -> Any:
    """The hook that records a task run's `RolledBack` state when the transaction holding its
    result rolls back (its in-memory state stays Completed, as in Prefect)."""

    def rolled_back(_: Transaction) -> None:
        state = Completed(name="RolledBack", message="Task rolled back as part of transaction")
        state.state_details.task_run_id = run.id
        state.state_details.flow_run_id = run.flow_run_id
        emit(StateChanged(run.id, "task", state, run.run_count))

    rolled_back.log_on_run = False  # type: ignore[attr-defined]
    return rolled_back


def _earlier_result(plan: CachePlan, earlier: UUID, logger: Any) -> tuple[bool, Any]:
    """(True, value) when the result an earlier attempt's task run `earlier` persisted can be
    read; else (False, None), having said why the call runs again."""
    if plan.key is None:
        logger.info("Task run %s completed in an earlier attempt, but this task's results have "
                    "no cache key to find them by (cache_policy=NO_CACHE?): it runs again.",
                    earlier)
        return False, None
    record = plan.store.read(plan.key)
    if record is None:
        logger.info("Task run %s completed in an earlier attempt, but its result is not at %s "
                    "(deleted, expired, or its cache key changed): it runs again.", earlier,
                    plan.store.storage.location(plan.key))
        return False, None
    try:
        return True, record.value()
    except Exception as exc:
        logger.warning("The result of task run %s at %s could not be read (%r): it runs again.",
                       earlier, plan.store.storage.location(plan.key), exc)
        return False, None


def cancelled_before_start(what: str = "it started") -> State:
    return Cancelled(message=f"The flow run was cancelled before {what}.")


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
