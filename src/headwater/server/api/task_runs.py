"""Task runs: a flow run's task runs (pages, sums per task, the timeline, the graph,
dependencies) and one task run (its states and logs).

At 100,000 task runs nothing here sends 100,000 of anything: pages are bounded, the timeline
sends the first bars of the window asked for and how many more there are, and the graph
groups task runs by task once there are more than `GRAPH_DETAIL_LIMIT`.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query

from headwater.server.api.convert import (
    log_out,
    make_cursor,
    parse_cursor,
    parse_states,
    state_out,
    task_run_detail_out,
    task_run_out,
)
from headwater.server.api.deps import States, Store, Time
from headwater.server.api.flow_runs import flow_run
from headwater.server.api.models import (
    GraphEdgeOut,
    GraphNodeOut,
    GraphOut,
    LogPageOut,
    StateOut,
    TaskGroupOut,
    TaskRunDetailOut,
    TaskRunPageOut,
    TaskSummaryOut,
    TimelineOut,
)
from headwater.server.errors import BadRequestError
from headwater.store.base import FlowRunFilter, FlowRunView
from headwater.store.pages import LogFilter, TaskRunFilter

router = APIRouter(prefix="/api", tags=["task runs"])
GRAPH_DETAIL_LIMIT = 300


@router.get("/flow_runs/{run_id}/task_runs", response_model=TaskRunPageOut)
def list_task_runs(
    store: Store, run_id: str, state: States = None,
    task_key: Annotated[str | None, Query(max_length=255)] = None,
    order: Annotated[str, Query(pattern="^(created|start_time)$")] = "created",
    cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TaskRunPageOut:
    """One page of a flow run's task runs, in creation (or start) order."""
    run = flow_run(store, run_id)
    f = TaskRunFilter(state_types=parse_states(state), task_key=task_key or None, order=order,
                      after=parse_cursor(cursor), limit=limit + 1)
    runs = store.read_task_run_page(run.id, f)
    more = len(runs) > limit
    runs = runs[:limit]
    next_cursor = None
    if more:
        last = runs[-1]
        key = last.created if order == "created" else (last.start_time or 0.0)
        next_cursor = make_cursor(key, last.id)
    return TaskRunPageOut(items=[task_run_out(t) for t in runs], next_cursor=next_cursor)


@router.get("/flow_runs/{run_id}/task_runs/summary", response_model=TaskSummaryOut)
def summarize_task_runs(store: Store, run_id: str) -> TaskSummaryOut:
    """A flow run's task runs added up: counts by state, and per task its counts and
    durations."""
    run = flow_run(store, run_id)
    groups = store.task_run_summary(run.id)
    states: dict[str, int] = {}
    for group in groups:
        for key, count in group.states.items():
            states[key] = states.get(key, 0) + count
    finished = {g.task_key: sum(n for s, n in g.states.items()
                                if s in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"))
                for g in groups}
    return TaskSummaryOut(total=sum(states.values()), states=states, tasks=[
        TaskGroupOut(**vars(g), mean_duration=(g.total_duration / finished[g.task_key]
                                               if finished[g.task_key] else None))
        for g in groups
    ])


@router.get("/flow_runs/{run_id}/timeline", response_model=TimelineOut)
def read_timeline(
    store: Store, run_id: str, start: Time = None, end: Time = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> TimelineOut:
    """The task runs that ran in [start, end) (default: the whole run), first started first:
    at most `limit` bars, and how many ran in the window; and the run's change token, read
    before the rest."""
    run_uuid = flow_run(store, run_id).id
    token = store.read_change_token(run_uuid)
    run = flow_run(store, str(run_uuid))
    run_start = run.start_time or run.created
    run_end = run.end_time
    window_start = run_start if start is None else start
    window_end = (run_end or time.time()) + 1e-3 if end is None else end
    if window_end <= window_start:
        raise BadRequestError(
            f"start={window_start!r} is not before end={window_end!r}. Give a start earlier "
            f"than the end."
        )
    f = TaskRunFilter(window=(window_start, window_end), order="start_time", limit=limit)
    bars = store.read_task_run_page(run.id, f)
    in_window = sum(store.count_task_runs(run.id, f).values())
    return TimelineOut(run_start=run_start, run_end=run_end,
                       window=[window_start, window_end], in_window=in_window,
                       bars=[task_run_out(t) for t in bars], truncated=in_window > len(bars),
                       change_token=token)


@router.get("/flow_runs/{run_id}/graph", response_model=GraphOut)
def read_graph(store: Store, run_id: str) -> GraphOut:
    """The task runs of a flow run and what each used, with its subflows: one node per
    task run, or one per task when there are more than 300 task runs."""
    run = flow_run(store, run_id)
    subflows = store.read_flow_runs(FlowRunFilter(parent_flow_run_id=run.id, limit=200))
    flow_nodes = [GraphNodeOut(id=str(s.id), label=f"{s.flow_name} / {s.name}", kind="flow_run",
                               state_type=s.state_type) for s in subflows]
    groups = store.task_run_summary(run.id)  # kept by the store once the run is final
    if sum(g.total for g in groups) <= GRAPH_DETAIL_LIMIT:
        tasks = store.read_task_run_page(run.id, TaskRunFilter(limit=GRAPH_DETAIL_LIMIT))
        nodes = [GraphNodeOut(id=str(t.id), label=t.name, kind="task_run",
                              state_type=t.state_type) for t in tasks] + flow_nodes
        known = {node.id for node in nodes}
        edges = [GraphEdgeOut(source=str(d.upstream_run_id), target=str(d.task_run_id))
                 for d in store.read_dependencies(run.id)
                 if str(d.upstream_run_id) in known]
        unique = {(e.source, e.target): e for e in edges}
        return GraphOut(grouped=False, nodes=nodes, edges=list(unique.values()))
    nodes = [GraphNodeOut(id=f"task:{g.task_key}", label=f"{g.task_name} × {g.total}",
                          kind="task", state_type=_worst(g.states), count=g.total,
                          states=g.states) for g in groups]
    by_flow: dict[str, list[FlowRunView]] = {}
    for s in subflows:
        by_flow.setdefault(s.flow_name, []).append(s)
    nodes += [GraphNodeOut(id=f"flow:{name}", label=f"{name} × {len(runs)}", kind="flow_run",
                           state_type=runs[0].state_type, count=len(runs))
              for name, runs in by_flow.items()]
    known = {node.id for node in nodes}
    edges = [GraphEdgeOut(source=f"{g.upstream_kind}:{g.upstream_key}",
                          target=f"task:{g.downstream_key}", count=g.count)
             for g in store.dependency_summary(run.id)]
    return GraphOut(grouped=True, nodes=nodes,
                    edges=[e for e in edges if e.source in known and e.source != e.target])


def _worst(states: dict[str, int]) -> str | None:
    for state in ("CRASHED", "FAILED", "CANCELLED", "RUNNING", "PENDING", "COMPLETED"):
        if states.get(state):
            return state
    return next(iter(states), None)


@router.get("/task_runs/{task_run_id}", response_model=TaskRunDetailOut)
def read_task_run(store: Store, task_run_id: str) -> TaskRunDetailOut:
    """One task run, by id or a unique id prefix: inputs, result, state, attempts."""
    return task_run_detail_out(store.read_task_run(task_run_id))


@router.get("/task_runs/{task_run_id}/states", response_model=list[StateOut])
def read_task_run_states(
    store: Store, task_run_id: str,
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> list[StateOut]:
    """The state history of a task run (every attempt), oldest first. Page on by passing the
    last `id` seen as `after_id`."""
    states = store.read_states(store.read_task_run(task_run_id).id, after_id=after_id,
                               limit=limit)
    return [state_out(s) for s in states]


@router.get("/task_runs/{task_run_id}/logs", response_model=LogPageOut)
def read_task_run_logs(
    store: Store, task_run_id: str, after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> LogPageOut:
    """The log lines of one task run, oldest first."""
    task = store.read_task_run(task_run_id)
    if task.flow_run_id is None:
        return LogPageOut(items=[], last_id=after_id)
    lines = store.read_log_page(task.flow_run_id, LogFilter(
        after_id=after_id, task_run_id=str(task.id), limit=limit))
    last = max([line.id for line in lines] + [after_id])
    return LogPageOut(items=[log_out(line, {task.id: task.name}) for line in lines],
                      last_id=last)
