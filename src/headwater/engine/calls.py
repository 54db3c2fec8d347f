"""What calling a flow or a task does: the engine behind the registration seam of `core/`.

`headwater/__init__.py` imports `headwater.engine`, which registers `ENGINE` with
`headwater.core.seam`; `Flow.__call__`, `Task.__call__`, `.submit` and `.map` go through it.
"""

from __future__ import annotations

import concurrent.futures as cf
from typing import TYPE_CHECKING, Any

from headwater.core.context import flow_run_var
from headwater.engine import logs, submission
from headwater.engine.drivers import drive_async, drive_sync, run_coro_sync
from headwater.engine.flow_run import call_result as flow_call_result
from headwater.engine.flow_run import flow_run_steps
from headwater.engine.logs import setup_logging
from headwater.engine.plain_flow import is_plain_subflow, run_plain_subflow
from headwater.engine.plain_run import is_plain, is_plain_task, run_plain, run_plain_in
from headwater.engine.task_run import call_result as task_call_result
from headwater.engine.task_run import new_task_run, task_run_steps

if TYPE_CHECKING:
    from headwater.core.flows import Flow
    from headwater.core.tasks import Task


def call_flow(
    flow: Flow[..., Any], parameters: dict[str, Any], wait_for: Any, return_state: bool
) -> Any:
    """Run a flow in this thread; for an async flow, return the coroutine that runs it (as any
    async callable does, and as in Prefect)."""
    if flow.isasync:
        coro = call_flow_async(flow, parameters, wait_for, return_state)
        return coro if flow._returns_coroutine() else run_coro_sync(coro)
    if not logs._configured:
        setup_logging()
    parent = flow_run_var.get()
    if parent is not None and is_plain_subflow(flow, parameters, wait_for, parent):
        done = run_plain_subflow(flow, parameters, parent)
        if done is not None:
            return flow_call_result(done[1], return_state)
    _, state = drive_sync(flow_run_steps(flow, parameters, wait_for))
    return flow_call_result(state, return_state)


async def call_flow_async(
    flow: Flow[..., Any], parameters: dict[str, Any], wait_for: Any, return_state: bool
) -> Any:
    setup_logging()
    _, state = await drive_async(flow_run_steps(flow, parameters, wait_for))
    return flow_call_result(state, return_state)


def call_task(
    task: Task[..., Any], parameters: dict[str, Any], wait_for: Any, return_state: bool
) -> Any:
    """Run a task now, in this thread, once the futures among its inputs are done."""
    if task.isasync:
        coro = call_task_async(task, parameters, wait_for, return_state)
        return coro if task._returns_coroutine() else run_coro_sync(coro)
    if not logs._configured:  # read directly: a call per task run costs more than this check
        setup_logging()
    ctx = flow_run_var.get()
    if wait_for is None and ctx is not None and ctx.resume is None and (
            submission.all_plain(parameters)):
        # The common call: inside a flow run, nothing to wait for or resolve. When the task
        # uses no optional feature, it runs in a straight line without a request.
        cached = task.__dict__.get("_attempts_in")
        settings = cached[1] if cached is not None and cached[0] is ctx.flow_run.id else (
            submission.attempt_settings(task, ctx))
        if is_plain_task(task, settings):
            state, handed_back = run_plain_in(task, new_task_run(task, parameters, ctx),
                                              parameters, (), ctx, ctx.runtime)
            return task_call_result(state, handed_back, return_state)
    futures = submission.upstream_futures(parameters, wait_for)
    if futures:
        submission.check_not_self(task, futures)
        cf.wait([f._future for f in futures])
    request = submission.build_request(task, new_task_run(task, parameters, ctx), parameters,
                                       wait_for, ctx)
    if is_plain(request):
        _, state, handed_back = run_plain(request)
    else:
        _, state, handed_back = drive_sync(task_run_steps(request))
    return task_call_result(state, handed_back, return_state)


async def call_task_async(
    task: Task[..., Any], parameters: dict[str, Any], wait_for: Any, return_state: bool
) -> Any:
    setup_logging()
    futures = submission.upstream_futures(parameters, wait_for)
    if futures:
        submission.check_not_self(task, futures)
        pending = [f._future for f in futures if not f.done()]
        if pending:  # awaited, so the event loop goes on meanwhile
            import asyncio

            await asyncio.wait([asyncio.wrap_future(f) for f in pending])
    ctx = flow_run_var.get()
    request = submission.build_request(task, new_task_run(task, parameters, ctx), parameters,
                                       wait_for, ctx)
    _, state, handed_back = await drive_async(task_run_steps(request))
    return task_call_result(state, handed_back, return_state)


class Engine:
    """The engine, as `headwater.core.seam.Engine` describes it. Its attributes are the plain
    functions, so a call from the model costs no extra frame."""

    __slots__ = ("call_flow", "call_task", "map_task", "submit_task")

    def __init__(self) -> None:
        self.call_flow = call_flow
        self.call_task = call_task
        self.submit_task = submission.submit_task
        self.map_task = submission.map_task


ENGINE = Engine()
