"""Running a task run somewhere else (another process, a Dask worker) and bringing back its
history.

The parent packs the task, the run (its id and name are already known), the parameters (with
upstream futures swapped for their final States) and a few facts about the flow run, using
cloudpickle. The worker runs the same engine as always, collects every record the run emits,
and sends back the final state and those records; the parent hands them to its own sink, so a
run on a Dask worker shows up in the history exactly like a run in a thread.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from headwater.core.annotations import BaseAnnotation
from headwater.core.futures import TaskRunFuture
from headwater.core.runs import FlowRun, TaskRun
from headwater.core.states import Failed, Pending, State
from headwater.errors import SerializationError
from headwater.events.records import StateChanged, TaskRunCreated

if TYPE_CHECKING:
    from collections.abc import Callable

    from headwater.core.context import FlowRunContext
    from headwater.core.tasks import Task
    from headwater.events.base import EventSink
    from headwater.runners.base import TaskRunner


def _swap_futures(value: Any) -> Any:
    """Futures (done by now) become their final States, which travel and resolve remotely."""
    if isinstance(value, TaskRunFuture):
        return value.state
    if isinstance(value, BaseAnnotation):
        return value.rewrap(_swap_futures(value.value))
    if isinstance(value, list):
        return [_swap_futures(v) for v in value]
    if isinstance(value, dict):
        return {k: _swap_futures(v) for k, v in value.items()}
    if isinstance(value, tuple):
        items = [_swap_futures(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, (set, frozenset)):
        return type(value)(_swap_futures(v) for v in value)
    return value


class _FlowFacts:
    """What a remote task needs to know about its flow run (the Flow object stays home)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.on_completion_hooks: list[Any] = []


def pack(
    task: Task[..., Any], run: TaskRun, parameters: dict[str, Any], wait_for: Any,
    flow_ctx: FlowRunContext | None,
) -> bytes:
    """Everything a worker needs to run `run`, as bytes.

    Raises:
        SerializationError: the task or an argument cannot be pickled; names which.
    """
    import cloudpickle

    flow_facts = None
    if flow_ctx is not None:
        fr = flow_ctx.flow_run
        flow_run = FlowRun(fr.id, fr.name, fr.flow_name, fr.flow_version, {}, fr.tags,
                           fr.parent_flow_run_id, fr.parent_task_run_id)
        from headwater.core.lineage import for_remote_run

        upstream_assets = for_remote_run(flow_ctx, task, run, parameters, wait_for)
        flow_facts = (_FlowFacts(flow_ctx.flow.name), flow_run, flow_ctx.log_prints,
                      upstream_assets)
    params = {name: _swap_futures(value) for name, value in parameters.items()}
    waits = _swap_futures(list(wait_for) if isinstance(wait_for, (list, tuple, set))
                          else wait_for)
    # The run object travels too, without its raw parameters (they may hold futures).
    travelling = TaskRun(run.id, run.name, run.task_name, run.task_key, run.flow_run_id,
                         params, run.tags)
    try:
        return cloudpickle.dumps((task, travelling, params, waits, flow_facts))  # type: ignore[no-any-return]
    except Exception as exc:
        raise SerializationError(_explain_unpicklable(task, params, exc)) from exc


def _explain_unpicklable(task: Task[..., Any], params: dict[str, Any], exc: Exception) -> str:
    import cloudpickle

    for name, value in params.items():
        try:
            cloudpickle.dumps(value)
        except Exception:
            return (
                f"Task {task.name!r} cannot be sent to another process: its argument {name!r} "
                f"({type(value).__name__} {value!r:.80}) cannot be pickled ({exc}). Pass "
                "something picklable (e.g. a path instead of an open file), or use the "
                "thread-pool runner."
            )
    return (
        f"Task {task.name!r} cannot be sent to another process: the task itself cannot be "
        f"pickled ({exc}). Define it at module level, or use the thread-pool runner."
    )


def execute(payload: bytes) -> bytes:
    """Worker side: run the packed task run; return (run, state, records) as bytes."""
    import cloudpickle

    from headwater.core.context import FlowRunContext, flow_run_var
    from headwater.core.engine import drive_async, drive_sync, run_coro_sync
    from headwater.core.logs import flow_run_logger, setup_logging
    from headwater.core.task_engine import task_run_steps
    from headwater.events import override_sink
    from headwater.events.memory import MemorySink

    task, run, params, waits, flow_facts = cloudpickle.loads(payload)
    setup_logging()
    collector = MemorySink()
    token = None
    if flow_facts is not None:
        facts, flow_run, log_prints, upstream_assets = flow_facts
        ctx = FlowRunContext(facts, flow_run, {}, log_prints,
                             flow_run_logger(flow_run, facts.name), collector)
        if upstream_assets is not None:
            from headwater.core.assets import _mark_assets_in_use
            from headwater.core.lineage import Lineage

            _mark_assets_in_use()
            ctx.lineage = Lineage(dict(upstream_assets))
        token = flow_run_var.set(ctx)
    try:
        with override_sink(collector):
            steps = task_run_steps(task, params, waits, task_run=run, sink=collector)
            if task.isasync:
                run, state, _ = run_coro_sync(drive_async(steps))
            else:
                run, state, _ = drive_sync(steps)
    finally:
        if token is not None:
            flow_run_var.reset(token)
    records = [(type(r), tuple(getattr(r, f.name) for f in dataclasses.fields(r)))
               for r in collector.records]
    try:
        return cloudpickle.dumps((run, state, records))  # type: ignore[no-any-return]
    except Exception as exc:
        failed = Failed(
            message=(
                f"Task {task.name!r} finished, but its result ({type(state.data).__name__}) "
                f"cannot be sent back to the flow's process: {exc}. Return something picklable."
            ),
            data=SerializationError(str(exc)),
        )
        failed.state_details.task_run_id = run.id
        # The unpicklable result leaves the history: the final state is replaced by this one.
        records = [r for r in records if not (r[0] is StateChanged and r[1][2].is_final())]
        records.append((StateChanged, (run.id, "task", failed, run.run_count)))
        run.state = failed
        return cloudpickle.dumps((run, failed, records))  # type: ignore[no-any-return]


def unpack(result: bytes, run: TaskRun, sink: EventSink) -> State:
    """Parent side: replay the worker's records into `sink`; bring `run` up to date."""
    import cloudpickle

    remote_run, state, records = cloudpickle.loads(result)
    for cls, values in records:
        sink.emit(cls(*values))
    for slot in ("name", "state", "run_count", "start_time", "end_time", "total_run_time"):
        setattr(run, slot, getattr(remote_run, slot))
    return state  # type: ignore[no-any-return]


def record_unsendable(
    task: Task[..., Any], run: TaskRun, parameters: dict[str, Any], exc: BaseException,
    sink: EventSink,
) -> State:
    """A run that could not be sent anywhere still gets a history: created, then Failed."""
    sink.emit(TaskRunCreated(run.id, run.name, task.name, task.task_key, run.flow_run_id,
                             parameters, run.tags, run.state.timestamp_s))
    for state in (Pending(), Failed(message=str(exc), data=exc)):
        state.state_details.task_run_id = run.id
        run.record_state(state)
        sink.emit(StateChanged(run.id, "task", state, run.run_count))
    return run.state


def submit_remote(
    runner: TaskRunner, task: Task[..., Any], parameters: dict[str, Any], wait_for: Any,
    send: Callable[[Task[..., Any], TaskRun, bytes], Any],
    watch: Callable[[Any, Any, TaskRun, EventSink], None] | None = None,
) -> TaskRunFuture[Any]:
    """Submit a run that executes elsewhere: `send(task, run, payload)` ships the packed run
    and returns a future-like object (`add_done_callback`, `result()`) of `execute`'s bytes.

    `watch(remote, done, run, sink)` arranges for `done` to be completed from `remote`; the
    default fetches each result on its own, as soon as it is ready.
    """
    import concurrent.futures as cf

    from headwater.core.context import flow_run_var
    from headwater.core.task_engine import new_task_run
    from headwater.events import current_sink

    flow_ctx = flow_run_var.get()
    run = new_task_run(task, parameters, flow_ctx)
    sink = flow_ctx.sink if flow_ctx is not None else current_sink()

    def launch() -> cf.Future[State]:
        done: cf.Future[State] = cf.Future()
        try:
            payload = pack(task, run, parameters, wait_for, flow_ctx)
        except SerializationError as exc:
            done.set_result(record_unsendable(task, run, parameters, exc, sink))
            return done
        remote = send(task, run, payload)
        (watch or watch_each)(remote, done, run, sink)
        return done

    return runner._submit_when_ready(run, parameters, wait_for, launch)


def watch_each(remote: Any, done: Any, run: TaskRun, sink: EventSink) -> None:
    remote.add_done_callback(lambda finished: finish(finished, done, run, sink))


def finish(remote: Any, done: Any, run: TaskRun, sink: EventSink) -> None:
    """Complete `done` from a finished remote future: replay its records into `sink`."""
    try:
        payload = remote.result()
    except BaseException as exc:  # the worker process or the cluster failed, not the task
        done.set_exception(exc)
        return
    done.set_result(unpack(payload, run, sink))
