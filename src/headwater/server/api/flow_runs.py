"""`/api/flow_runs`: the runs list (filters, cursor pages, counts, a histogram), one run, its
state history, subflows and logs, and cancelling or resuming it."""

from __future__ import annotations

import time
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from headwater.server.api.convert import (
    flow_run_detail_out,
    flow_run_out,
    log_out,
    make_cursor,
    parse_cursor,
    parse_states,
    parse_uuid,
    state_out,
)
from headwater.server.api.deps import States, Store, Time
from headwater.server.api.models import (
    CancelOut,
    ChangesOut,
    CountsOut,
    FlowRunDetailOut,
    FlowRunOut,
    FlowRunPageOut,
    HistogramOut,
    LogPageOut,
    ResumeOut,
    StateOut,
)
from headwater.server.errors import BadRequestError
from headwater.store.base import FlowRunFilter, FlowRunView, RunStore
from headwater.store.pages import LogFilter

router = APIRouter(prefix="/api", tags=["flow runs"])


def _filter(
    flow: str | None, state: list[str] | None, tag: list[str] | None, created_after: float | None,
    created_before: float | None, parent: str | None, roots: bool,
) -> FlowRunFilter:
    return FlowRunFilter(
        flow_name=flow or None, state_types=parse_states(state),
        tags=tuple(t for t in tag or [] if t), created_after=created_after,
        created_before=created_before,
        parent_flow_run_id=parse_uuid(parent) if parent else None,
        roots_only=roots and not parent, limit=None,
    )


Flow = Annotated[str | None, Query(max_length=255, description="Only runs of this flow.")]
Tags = Annotated[list[str] | None, Query(description="Only runs with every one of these tags.")]
Parent = Annotated[str | None, Query(description="Only subflow runs of this flow run (full id).")]
Roots = Annotated[bool, Query(description="Only runs that are not subflows.")]


@router.get("/flow_runs", response_model=FlowRunPageOut)
def list_flow_runs(
    store: Store, flow: Flow = None, state: States = None, tag: Tags = None,
    created_after: Time = None, created_before: Time = None, parent: Parent = None,
    roots: Roots = False, cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> FlowRunPageOut:
    """Flow runs, newest first, one page at a time. Each carries how many subflows it has."""
    base = _filter(flow, state, tag, created_after, created_before, parent, roots)
    f = FlowRunFilter(**{**vars(base), "after": parse_cursor(cursor), "limit": limit + 1})
    runs = store.read_flow_runs(f)
    more = len(runs) > limit
    runs = runs[:limit]
    subflows = store.count_subflows([run.id for run in runs]) if runs else {}
    return FlowRunPageOut(
        items=[flow_run_out(run, subflows.get(run.id, 0)) for run in runs],
        next_cursor=make_cursor(runs[-1].created, runs[-1].id) if more else None,
    )


@router.get("/flow_runs/counts", response_model=CountsOut)
def count_flow_runs(
    store: Store, flow: Flow = None, state: States = None, tag: Tags = None,
    created_after: Time = None, created_before: Time = None, parent: Parent = None,
    roots: Roots = False,
) -> CountsOut:
    """How many flow runs match, by state type."""
    counts = store.count_flow_runs(
        _filter(flow, state, tag, created_after, created_before, parent, roots))
    return CountsOut(total=sum(counts.values()), states=counts)


@router.get("/flow_runs/histogram", response_model=HistogramOut)
def flow_run_histogram(
    store: Store, flow: Flow = None, state: States = None, tag: Tags = None,
    start: Time = None, end: Time = None, parent: Parent = None, roots: Roots = False,
    buckets: Annotated[int, Query(ge=1, le=200)] = 48,
) -> HistogramOut:
    """Flow runs created in [start, end) by state type, in equal intervals (default: the
    last 24 hours)."""
    end = time.time() if end is None else end
    start = end - 86400 if start is None else start
    if end <= start:
        raise BadRequestError(
            f"start={start!r} is not before end={end!r}. Give a start earlier than the end."
        )
    f = _filter(flow, state, tag, None, None, parent, roots)
    return HistogramOut(start=start, end=end, bucket_seconds=(end - start) / buckets,
                        buckets=store.flow_run_histogram(f, start=start, end=end,
                                                         buckets=buckets))


@router.get("/flow_runs/{run_id}", response_model=FlowRunDetailOut)
def read_flow_run(store: Store, run_id: str) -> FlowRunDetailOut:
    """One flow run, by id or a unique id prefix: parameters, result, state, and its change
    token, read before the run (a change committed in between shows in the next poll)."""
    run = store.read_flow_run(run_id)
    token = store.read_change_token(run.id)
    run = store.read_flow_run(str(run.id))
    requested = bool(store.read_cancel_requests([str(run.id)]))
    return flow_run_detail_out(run, requested, token)


def flow_run(store: RunStore, run_id: str) -> FlowRunView:
    """The flow run a route is about (its id or a unique prefix)."""
    return store.read_flow_run(run_id)


@router.get("/flow_runs/{run_id}/states", response_model=list[StateOut])
def read_flow_run_states(
    store: Store, run_id: str,
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> list[StateOut]:
    """The state history of a flow run, oldest first. Page on by passing the last `id` seen
    as `after_id`."""
    states = store.read_states(flow_run(store, run_id).id, after_id=after_id, limit=limit)
    return [state_out(s) for s in states]


@router.get("/flow_runs/{run_id}/subflows", response_model=list[FlowRunOut])
def read_subflows(
    store: Store, run_id: str, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[FlowRunOut]:
    """The subflow runs of a flow run, newest first."""
    run = flow_run(store, run_id)
    runs = store.read_flow_runs(FlowRunFilter(parent_flow_run_id=run.id, limit=limit))
    subflows = store.count_subflows([r.id for r in runs]) if runs else {}
    return [flow_run_out(r, subflows.get(r.id, 0)) for r in runs]


@router.get("/flow_runs/{run_id}/logs", response_model=LogPageOut)
def read_flow_run_logs(
    store: Store, run_id: str,
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    before_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    min_level: Annotated[int, Query(ge=0, le=100)] = 0,
    task_run: Annotated[str | None, Query(description="Only lines of this task run.")] = None,
    newest_first: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> LogPageOut:
    """Log lines of a flow run and its task runs. Follow a live run by passing the last id
    seen as `after_id`; page back with `before_id` and `newest_first`."""
    run = flow_run(store, run_id)
    task_id = str(parse_uuid(task_run, "task run")) if task_run else None
    lines = store.read_log_page(run.id, LogFilter(
        after_id=after_id, before_id=before_id, min_level=min_level, task_run_id=task_id,
        newest_first=newest_first, limit=limit,
    ))
    seen = list({line.task_run_id for line in lines if line.task_run_id})
    names: dict[UUID, str] = {t.id: t.name for t in store.read_task_runs_by_id(seen)}
    last = max([line.id for line in lines] + [after_id])
    return LogPageOut(items=[log_out(line, names) for line in lines], last_id=last)


@router.post("/flow_runs/{run_id}/cancel", response_model=CancelOut)
def cancel_flow_run(store: Store, run_id: str) -> CancelOut:
    """Ask a running flow run to stop. The process running it ends it Cancelled within a
    second. Answers 409 if it already finished."""
    view = store.request_cancel(run_id, requested_by="server")
    return CancelOut(id=str(view.id), name=view.name,
                     message=f"Asked flow run {view.name!r} to stop; it was "
                             f"{view.state_name or 'starting'}.")


@router.post("/flow_runs/{run_id}/resume", response_model=ResumeOut, status_code=202)
def resume_flow_run(store: Store, run_id: str) -> ResumeOut:
    """Resume a Failed, Crashed or Cancelled flow run from where it stopped, in a process of
    its own (as `headwater runs resume` does). Answers 202 at once; follow the run's state.
    Answers 409 if the run cannot be resumed (the message says why)."""
    from headwater.resuming import resume_in_background

    view, pid = resume_in_background(store, run_id)
    return ResumeOut(id=str(view.id), name=view.name,
                     message=f"Resuming flow run {view.name!r} (attempt {view.run_count + 1}) "
                             f"in process {pid}.")


@router.get("/changes", response_model=ChangesOut, tags=["live"])
def read_changes(store: Store, flow_run: str | None = None) -> ChangesOut:
    """A token that changes when something is committed about a flow run (or, without
    `flow_run`, about any flow run's state). Poll it; reload when it changes."""
    run_id = parse_uuid(flow_run) if flow_run else None
    return ChangesOut(token=store.read_change_token(run_id))
