"""From a task call to a request: waiting for upstream runs, resolving inputs, handing the
request to the flow run's task runner, and turning what comes back into a future.

A run is handed to the runner only once its upstream futures are done, so no worker ever
blocks waiting for an upstream and a bounded pool cannot deadlock on a chain of dependencies.
Runs that must not start (an upstream failed, the flow run was cancelled) and runs that cannot
be sent (an unpicklable argument) are recorded here, in the flow's process, without a runner.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import threading
from typing import TYPE_CHECKING, Any
from uuid import UUID

from headwater.core.context import FlowRunContext, flow_run_var, task_run_var
from headwater.core.futures import MappedFutureList, MapRuns, TaskRunFuture, TaskRunFutureList
from headwater.core.mapping import MappedCalls
from headwater.core.states import Failed, NotReady
from headwater.engine import lineage
from headwater.engine.caching import should_persist
from headwater.engine.execution import (
    AttemptSettings,
    FlowRunFacts,
    TaskRunOutcome,
    TaskRunRequest,
    execute,
    replay,
)
from headwater.engine.resolution import (
    collect_futures,
    collect_upstream_ids,
    needs_resolution,
    resolve,
)
from headwater.engine.resume import decide_for
from headwater.engine.task_run import new_task_run, next_call
from headwater.errors import SelfDependencyError, SerializationError, UpstreamTaskError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from headwater.core.runs import TaskRun
    from headwater.core.tasks import Task
    from headwater.runners.base import TaskRunner

_PLAIN = frozenset({int, float, str, bytes, bool, type(None)})


# -- the flow run's runner ----------------------------------------------------------------------
def open_task_runner(ctx: FlowRunContext) -> TaskRunner:
    """The flow run's task runner, started on first use (flows that never submit pay nothing)."""
    runner: TaskRunner | None = ctx.runner
    if runner is None:
        with ctx.lock:
            if ctx.runner is None:
                if ctx.task_runner is not None:
                    fresh = ctx.task_runner.duplicate()
                else:
                    from headwater.runners.thread import ThreadPoolTaskRunner

                    fresh = ThreadPoolTaskRunner()
                fresh.__enter__()
                ctx.runner = fresh
            runner = ctx.runner
    assert runner is not None
    return runner


def close_task_runner(ctx: FlowRunContext, cancel: bool = False) -> None:
    """Shut the flow run's runner down: normally after every submitted run has finished; with
    `cancel` (the flow crashed), runs that have not started yet are dropped."""
    with ctx.lock:
        runner, ctx.runner = ctx.runner, None
    if runner is not None:
        runner.cancel_on_exit = cancel
        runner.__exit__(None, None, None)


# -- requests -------------------------------------------------------------------------------------
def flow_run_facts(ctx: FlowRunContext) -> FlowRunFacts:
    """The facts every request of this flow run carries (made once per flow run)."""
    facts: FlowRunFacts | None = ctx.facts
    if facts is None:
        run, flow = ctx.flow_run, ctx.flow
        facts = FlowRunFacts(
            run.id, run.name, flow.name, run.flow_version, run.tags, ctx.parameters,
            ctx.log_prints, getattr(flow, "persist_result", None),
            getattr(flow, "result_storage", None), getattr(flow, "result_serializer", None),
            ctx.cancel_scope, run.parent_flow_run_id, run.parent_task_run_id,
        )
        ctx.facts = facts
    return facts


def attempt_settings(task: Task[..., Any], ctx: FlowRunContext | None) -> AttemptSettings:
    """How a task's runs in this flow run treat prints and persistence.

    The answer depends only on the task, the flow run and the settings, so it is worked out
    once per task and flow run and kept on the task (one entry, keyed by the flow run's id:
    nothing grows, and the flow run's context is not kept alive).
    """
    cached = task.__dict__.get("_attempts_in")
    if cached is not None and ctx is not None and cached[0] is ctx.flow_run.id:
        return cached[1]  # type: ignore[no-any-return]
    if task.log_prints is not None:
        log_prints = task.log_prints
    elif ctx is not None:
        log_prints = ctx.log_prints
    else:
        from headwater import settings

        log_prints = settings.log_prints()
    decided = AttemptSettings(log_prints, should_persist(task, ctx))
    if ctx is not None:
        task.__dict__["_attempts_in"] = (ctx.flow_run.id, decided)
    return decided


def build_request(
    task: Task[..., Any], run: TaskRun, parameters: dict[str, Any], wait_for: Any,
    ctx: FlowRunContext | None, plain: bool = False,
) -> TaskRunRequest:
    """The request for a run whose upstream futures are all done: parameters resolved, each
    dependency listed; `blocked` set to NotReady if an upstream did not complete. `plain`:
    the caller knows every parameter is a plain value and `wait_for` is None."""
    upstreams: list[tuple[str, UUID]] = []
    blocked = None
    if not plain and (wait_for is not None or (not all_plain(parameters)
                                               and _any_needs_resolution(parameters))):
        waits = _as_list(wait_for)
        # Every upstream is recorded, so a NotReady run still shows all of its inputs.
        for name, value in [*parameters.items(), *([("wait_for", waits)] if waits else [])]:
            collect_upstream_ids(value, _recorder(upstreams, name))
        try:
            parameters = {name: resolve(value, _ignore) for name, value in parameters.items()}
            if waits:
                resolve(waits, _ignore)  # raises if an upstream it waits for did not complete
        except UpstreamTaskError as exc:
            blocked = NotReady(message=str(exc))
        run.parameters = parameters
    if ctx is None:
        return TaskRunRequest(task, run, parameters, None, attempt_settings(task, None),
                              tuple(upstreams), None, blocked)
    # The two per-flow-run answers, looked up inline: this runs once per task run.
    cached = task.__dict__.get("_attempts_in")
    settings = cached[1] if cached is not None and cached[0] is ctx.flow_run.id else (
        attempt_settings(task, ctx))
    resume = None
    if ctx.resume is not None and blocked is None:
        resume = decide_for(ctx.resume, run, task, parameters, settings.persist_result)
    # tuple.__new__: the named tuple without its Python-level __new__ (once per task run).
    return _tuple_new(TaskRunRequest, (
        task, run, parameters, ctx.facts or flow_run_facts(ctx), settings,
        tuple(upstreams) if upstreams else (), None, blocked, resume))


_tuple_new = tuple.__new__


def _recorder(upstreams: list[tuple[str, UUID]], name: str) -> Any:
    return lambda upstream_id: upstreams.append((name, upstream_id))


def _any_needs_resolution(parameters: dict[str, Any]) -> bool:
    return any(needs_resolution(value) for value in parameters.values())


def all_plain(parameters: dict[str, Any]) -> bool:
    """Whether every parameter is a plain value (no future, state or container to look into).
    """
    # A plain loop: `all(...)` over a generator costs a frame per call, on every submit.
    for value in parameters.values():  # noqa: SIM110
        if value.__class__ not in _PLAIN:
            return False
    return True


def _ignore(_: Any) -> None:
    return None


def _as_list(wait_for: Any) -> list[Any]:
    if wait_for is None:
        return []
    if isinstance(wait_for, (list, tuple, set)):
        return list(wait_for)
    return [wait_for]


def upstream_futures(parameters: dict[str, Any], wait_for: Any) -> list[TaskRunFuture[Any]]:
    """Every future a run's arguments and `wait_for` hold (not inside `quote`)."""
    found: list[TaskRunFuture[Any]] = []
    if wait_for is None and all_plain(parameters):
        return found
    for value in parameters.values():
        collect_futures(value, found)
    collect_futures(_as_list(wait_for), found)
    return found


def check_not_self(task: Task[..., Any], futures: list[TaskRunFuture[Any]]) -> None:
    """A task run that waits for its own result would wait forever: refuse it now.

    Raises:
        SelfDependencyError: one of `futures` is the run of the task run calling this.
    """
    current = task_run_var.get()
    if current is None or not futures:
        return
    own = current.task_run.id
    for future in futures:
        if future.task_run_id == own:
            raise SelfDependencyError(
                f"Task run {current.task_run.name!r} (task {current.task.name!r}) would wait "
                f"for its own result: calling {task.name!r} with the future of "
                f"{current.task_run.name!r} among its arguments or in wait_for can never "
                "finish. Remove that future, or wait for it from the flow instead.",
                task_run_id=own,
            )


# -- submitting -----------------------------------------------------------------------------------
def submit_task(
    task: Task[..., Any], parameters: dict[str, Any], wait_for: Any,
    call: int | str | None = None,
) -> TaskRunFuture[Any]:
    """Start one run of `task` on the current flow run's runner; return its future at once.
    `call` is its identity's call index when it is an element of a `.map`."""
    ctx = flow_run_var.get()
    assert ctx is not None  # Task.submit checked
    runner = ctx.runner or open_task_runner(ctx)
    run = new_task_run(task, parameters, ctx, call)
    pending = None
    if wait_for is None and all_plain(parameters):  # nothing to wait for or resolve
        inner = _launch(ctx, runner, task, run, parameters, None, plain=True)
        ctx.pending.add(inner)
        return TaskRunFuture(run, inner)
    futures = upstream_futures(parameters, wait_for)
    if futures:
        check_not_self(task, futures)
        pending = [f._future for f in futures if not f.done()]
    if not pending:
        inner = _launch(ctx, runner, task, run, parameters, wait_for)
    else:
        inner = cf.Future()
        context = contextvars.copy_context()

        def start() -> None:
            try:
                launched = context.run(_launch, ctx, runner, task, run, parameters, wait_for)
            except BaseException as exc:
                inner.set_exception(exc)
                return
            _chain(launched, inner)

        _when_all_done(pending, start)
    ctx.pending.add(inner)
    return TaskRunFuture(run, inner)


def map_task(
    task: Task[..., Any], calls: Sequence[dict[str, Any]], wait_for: Any
) -> TaskRunFutureList:
    """One run per parameter dict; runs that wait for nothing go to the runner together, a
    chunk at a time, and their futures are a compact `MappedFutureList`."""
    ctx = flow_run_var.get()
    assert ctx is not None  # Task.map checked
    n = next_call(task, ctx)  # the elements' identities: task_key#n.0, task_key#n.1, ...
    count = len(calls)
    runs = MapRuns(count, ctx.flow_run.id)
    if wait_for is not None or _calls_need_resolution(calls):
        # Each run waits for its own upstreams (a map over another map's futures, say).
        for index, call in enumerate(calls):
            future = submit_task(task, call, wait_for, f"{n}.{index}")
            runs.track(index, future.task_run, future._future)
        ctx.pending.add(runs.all_done)
        return MappedFutureList(runs)
    runner = open_task_runner(ctx)
    cancelled = ctx.runtime.control.cancel_requested(ctx.cancel_scope)
    # A chunk at a time: the runs' requests (TaskRun, parameters) exist from a little before
    # they are queued until they are final, not all at once.
    for start in range(0, count, _MAP_CHUNK):
        requests = [
            build_request(task, new_task_run(task, call, ctx, f"{n}.{i}"), call, None, ctx)
            for i, call in zip(range(start, min(start + _MAP_CHUNK, count)),
                               calls[start:start + _MAP_CHUNK], strict=True)
        ]
        if cancelled:
            inners = [_done(execute(request)) for request in requests]
        else:
            inners = _send_many(ctx, runner, requests)
        track = runs.track
        for index, request, inner in zip(range(start, count), requests, inners, strict=False):
            track(index, request.task_run, inner)
        del requests, inners
    ctx.pending.add(runs.all_done)
    return MappedFutureList(runs)


_MAP_CHUNK = 1024


def _calls_need_resolution(calls: Sequence[dict[str, Any]]) -> bool:
    if isinstance(calls, MappedCalls):
        return calls.any_value(needs_resolution)
    return any(_any_needs_resolution(call) for call in calls)


def _launch(
    ctx: FlowRunContext, runner: TaskRunner, task: Task[..., Any], run: TaskRun,
    parameters: dict[str, Any], wait_for: Any, plain: bool = False,
) -> cf.Future[TaskRunOutcome]:
    request = build_request(task, run, parameters, wait_for, ctx, plain=plain)
    control = ctx.runtime.control
    if request.blocked is not None or (control.cancelled
                                       and control.cancel_requested(ctx.cancel_scope)):
        return _done(execute(request))  # nothing will run: record it here
    if runner.in_process:
        return runner.submit(request)
    request = _with_upstream_assets(ctx, request)
    try:
        remote = runner.submit(request)
    except SerializationError as exc:
        return _unsendable(request, exc)
    return _replayed(ctx, remote, run)


def _send_many(
    ctx: FlowRunContext, runner: TaskRunner, requests: list[TaskRunRequest]
) -> list[cf.Future[TaskRunOutcome]]:
    if runner.in_process:
        return runner.submit_many(requests)
    requests = [_with_upstream_assets(ctx, request) for request in requests]
    sent = runner.submit_many(requests)
    futures = []
    for request, remote in zip(requests, sent, strict=True):
        if remote.done() and isinstance(remote.exception(), SerializationError):
            futures.append(_unsendable(request, remote.exception()))  # type: ignore[arg-type]
        else:
            futures.append(_replayed(ctx, remote, request.task_run))
    return futures


def _unsendable(request: TaskRunRequest, exc: SerializationError) -> cf.Future[TaskRunOutcome]:
    """A run that cannot travel still gets its history, recorded here: created, then Failed."""
    return _done(execute(request._replace(blocked=Failed(message=str(exc), data=exc))))


def _with_upstream_assets(ctx: FlowRunContext, request: TaskRunRequest) -> TaskRunRequest:
    known = lineage.for_remote_run(ctx, request.task, request.task_run,
                                   [uid for _, uid in request.upstreams])
    if known is None:
        return request
    return request._replace(upstream_assets={k: frozenset(v) for k, v in known.items()})


def _replayed(
    ctx: FlowRunContext, remote: cf.Future[TaskRunOutcome], run: TaskRun
) -> cf.Future[TaskRunOutcome]:
    """A future that completes once a remote run's records are in the flow's sink."""
    done: cf.Future[TaskRunOutcome] = cf.Future()
    runtime = ctx.runtime

    def settle(finished: cf.Future[TaskRunOutcome]) -> None:
        try:
            outcome = finished.result()
            replay(outcome, run, runtime)
        except BaseException as exc:  # the worker or the cluster failed, not the task
            done.set_exception(exc)
            return
        done.set_result(outcome)

    remote.add_done_callback(settle)
    return done


def _done(outcome: TaskRunOutcome) -> cf.Future[TaskRunOutcome]:
    future: cf.Future[TaskRunOutcome] = cf.Future()
    future.set_result(outcome)
    return future


def _chain(source: cf.Future[Any], target: cf.Future[Any]) -> None:
    """Complete `target` the way `source` completes."""

    def copy(done: cf.Future[Any]) -> None:
        if done.cancelled():
            target.cancel()
            return
        exc = done.exception()
        if exc is not None:
            target.set_exception(exc)
        else:
            target.set_result(done.result())

    source.add_done_callback(copy)


def _when_all_done(futures: list[cf.Future[Any]], callback: Any) -> None:
    """Call `callback()` once, in whichever thread finishes the last of `futures`."""
    remaining = [len(futures)]
    lock = threading.Lock()

    def one_done(_: cf.Future[Any]) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            callback()

    for future in futures:
        future.add_done_callback(one_done)
