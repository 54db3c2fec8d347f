"""The page and aggregate reads of `MemoryStore` (see `pages.py`): plain loops over its rows.

The same answers as the SQL stores give, checked by the contract suite; memory holds what one
process recorded, so scanning is fine here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from headwater.store.pages import (
    DependencyGroupView,
    FlowSummaryView,
    LogFilter,
    TaskGroupView,
    TaskRunFilter,
    count_by_state,
)

if TYPE_CHECKING:
    from headwater.store.base import FlowRunFilter, LogView, Row, TaskRunView

INFINITY = float("inf")


def flow_run_matches(f: FlowRunFilter, row: Row, *, with_bounds: bool = True) -> bool:
    """Whether a flow run row passes `f` (all of it but the limit and `ids`)."""
    from headwater.store.base import state_matches

    if f.flow_name is not None and row["flow_name"] != f.flow_name:
        return False
    if f.state is not None and not state_matches(f.state, row["state_type"], row["state_name"]):
        return False
    if f.parent_flow_run_id is not None and row.get("parent_flow_run_id") != str(
        f.parent_flow_run_id
    ):
        return False
    if f.roots_only and row.get("parent_flow_run_id") is not None:
        return False
    if f.state_types and row["state_type"] not in f.state_types:
        return False
    if f.tags:
        tags = set(json.loads(row["tags"] or "[]"))
        if not set(f.tags) <= tags:
            return False
    if with_bounds:
        if f.created_before is not None and row["created"] >= f.created_before:
            return False
        if f.created_after is not None and row["created"] < f.created_after:
            return False
    if f.after is not None and (row["created"], row["id"]) >= tuple(f.after):
        return False
    return not (f.ids and not any(row["id"].startswith(p.lower()) for p in f.ids))


def _duration(row: Row) -> float | None:
    if row["start_time"] is None or row["end_time"] is None:
        return None
    return float(max(0.0, row["end_time"] - row["start_time"]))


class MemoryPageReads:
    """Mixed into `MemoryStore`: the reads of `pages.py` over its dicts and lists."""

    _lock: threading.Lock
    _flow_runs: dict[str, Row]
    _task_runs: dict[str, Row]
    _logs: list[Row]
    _dependencies: list[Row]

    def _flow_rows(self) -> list[Row]:
        with self._lock:
            return list(self._flow_runs.values())

    def _task_rows(self, flow_run_id: UUID) -> list[Row]:
        wanted = str(flow_run_id)
        with self._lock:
            return [r for r in self._task_runs.values() if r.get("flow_run_id") == wanted]

    def count_flow_runs(self, filter: FlowRunFilter | None = None) -> dict[str, int]:
        from headwater.store.base import FlowRunFilter

        f = filter or FlowRunFilter()
        f = FlowRunFilter(**{**vars(f), "after": None})
        return count_by_state(
            [(r["state_type"], 1) for r in self._flow_rows() if flow_run_matches(f, r)]
        )

    def flow_run_histogram(
        self, filter: FlowRunFilter | None, *, start: float, end: float, buckets: int
    ) -> list[dict[str, int]]:
        from headwater.store.base import FlowRunFilter

        f = FlowRunFilter(**{**vars(filter or FlowRunFilter()), "after": None})
        width = (end - start) / buckets
        counts: list[dict[str, int]] = [{} for _ in range(buckets)]
        for row in self._flow_rows():
            if not (start <= row["created"] < end) or not flow_run_matches(
                f, row, with_bounds=False
            ):
                continue
            index = min(int((row["created"] - start) / width), buckets - 1)
            key = row["state_type"] or "PENDING"
            counts[index][key] = counts[index].get(key, 0) + 1
        return counts

    def count_subflows(self, parent_ids: Sequence[UUID]) -> dict[UUID, int]:
        wanted = {str(i) for i in parent_ids}
        counts: dict[UUID, int] = {}
        for row in self._flow_rows():
            parent = row.get("parent_flow_run_id")
            if parent in wanted:
                counts[UUID(parent)] = counts.get(UUID(parent), 0) + 1
        return counts

    def read_flows(self) -> list[FlowSummaryView]:
        flows: dict[str, tuple[int, float]] = {}
        for row in self._flow_rows():
            runs, last = flows.get(row["flow_name"], (0, -INFINITY))
            flows[row["flow_name"]] = (runs + 1, max(last, row["created"]))
        return [FlowSummaryView(name, runs, last) for name, (runs, last) in sorted(flows.items())]

    def read_task_run(self, run_id: UUID | str) -> TaskRunView:
        from headwater.store.rows import task_run_view

        text = str(run_id).strip().lower()
        with self._lock:
            rows = [r for i, r in self._task_runs.items() if i.startswith(text)][:2]
        return task_run_view(one_task_run(text, rows))

    def read_task_runs_by_id(self, ids: Sequence[UUID]) -> list[TaskRunView]:
        from headwater.store.rows import task_run_view

        with self._lock:
            rows = [self._task_runs[str(i)] for i in ids if str(i) in self._task_runs]
        return [task_run_view(r) for r in rows]

    def read_task_run_page(self, flow_run_id: UUID, filter: TaskRunFilter) -> list[TaskRunView]:
        from headwater.store.rows import task_run_view

        key = _order_key(filter.order)
        rows = sorted((r for r in self._task_rows(flow_run_id) if _task_matches(filter, r)
                       and (filter.order != "start_time" or r["start_time"] is not None)),
                      key=key)
        if filter.after is not None:
            after = (filter.after[0], filter.after[1])
            rows = [r for r in rows if key(r) > after]
        return [task_run_view(r) for r in rows[: filter.limit]]

    def count_task_runs(
        self, flow_run_id: UUID, filter: TaskRunFilter | None = None
    ) -> dict[str, int]:
        f = filter or TaskRunFilter()
        return count_by_state(
            [(r["state_type"], 1) for r in self._task_rows(flow_run_id) if _task_matches(f, r)]
        )

    def task_run_summary(self, flow_run_id: UUID) -> list[TaskGroupView]:
        groups: dict[str, list[Row]] = {}
        for row in self._task_rows(flow_run_id):
            groups.setdefault(row["task_key"], []).append(row)
        views = []
        for key, rows in groups.items():
            durations = [d for d in map(_duration, rows) if d is not None]
            starts = [r["start_time"] for r in rows if r["start_time"] is not None]
            ends = [r["end_time"] for r in rows if r["end_time"] is not None]
            views.append(TaskGroupView(
                task_key=key, task_name=rows[0]["task_name"], total=len(rows),
                states=count_by_state([(r["state_type"], 1) for r in rows]),
                first_start=min(starts) if starts else None,
                last_end=max(ends) if ends else None,
                total_duration=sum(durations), max_duration=max(durations, default=None),
            ))
        return sort_groups(views)

    def dependency_summary(self, flow_run_id: UUID) -> list[DependencyGroupView]:
        with self._lock:
            tasks = dict(self._task_runs)
            flows = dict(self._flow_runs)
            deps = list(self._dependencies)
        wanted = str(flow_run_id)
        counts: dict[tuple[str, str, str], int] = {}
        for dep in deps:
            down = tasks.get(dep["task_run_id"])
            if down is None or down.get("flow_run_id") != wanted:
                continue
            up_task, up_flow = tasks.get(dep["upstream_run_id"]), flows.get(dep["upstream_run_id"])
            if up_task is not None:
                up = ("task", up_task["task_key"])
            elif up_flow is not None:
                up = ("flow", up_flow["flow_name"])
            else:
                up = ("run", dep["upstream_run_id"])
            group = (*up, down["task_key"])
            counts[group] = counts.get(group, 0) + 1
        return [
            DependencyGroupView(kind, up, down, n)
            for (kind, up, down), n in sorted(counts.items(), key=lambda i: (i[0][1], i[0][2]))
        ]

    def read_log_page(self, flow_run_id: UUID, filter: LogFilter) -> list[LogView]:
        from headwater.store.rows import log_view

        wanted = str(flow_run_id)
        with self._lock:
            rows = [
                r for r in self._logs
                if r.get("flow_run_id") == wanted
                and r["id"] > filter.after_id
                and (filter.before_id is None or r["id"] < filter.before_id)
                and r["level"] >= filter.min_level
                and (filter.task_run_id is None or r.get("task_run_id") == filter.task_run_id)
            ]
        if filter.newest_first:
            rows = rows[::-1]
        return [log_view(r) for r in rows[: filter.limit]]

    def read_change_token(self, flow_run_id: UUID | None = None) -> str:
        if flow_run_id is None:
            rows = self._flow_rows()
            return _token(len(rows), max((r["created"] for r in rows), default=None),
                          max((r["state_timestamp"] or 0.0 for r in rows), default=None))
        wanted = str(flow_run_id)
        with self._lock:
            flow = self._flow_runs.get(wanted)
            stamps = [r["state_timestamp"] or r["created"] for r in self._task_runs.values()
                      if r.get("flow_run_id") == wanted]
            last_log = max((r["id"] for r in self._logs if r.get("flow_run_id") == wanted),
                           default=None)
        return _token(flow["state_timestamp"] if flow else None, len(stamps),
                      max(stamps, default=None), last_log)


def _token(*parts: Any) -> str:
    return ":".join("-" if p is None else repr(p) for p in parts)


def _order_key(order: str) -> Any:
    if order == "created":
        return lambda r: (r["created"], r["id"])
    if order == "start_time":
        return lambda r: (r["start_time"], r["id"])
    raise ValueError(
        f"order={order!r} is not a task run order. Use 'created' or 'start_time'."
    )


def _task_matches(f: TaskRunFilter, row: Row) -> bool:
    if f.state_types and (row["state_type"] or "PENDING") not in f.state_types:
        return False
    if f.task_key is not None and row["task_key"] != f.task_key:
        return False
    if f.window is not None:
        start, end = f.window
        if row["start_time"] is None or row["start_time"] >= end:
            return False
        if row["end_time"] is not None and row["end_time"] < start:
            return False
    return True


def one_task_run(text: str, rows: list[Any]) -> Any:
    """The only row of `rows` (at most 2, found by an id prefix), or a clear error."""
    from headwater.errors import RunNotFoundError

    if len(rows) == 1:
        return rows[0]
    if not rows:
        raise RunNotFoundError(
            f"No task run has the id {text!r}. Open its flow run to list its task runs "
            f"(`headwater runs inspect FLOW_RUN_ID`).",
            run_id=text,
        )
    raise RunNotFoundError(
        f"The id prefix {text!r} matches more than one task run ({rows[0]['id']}, "
        f"{rows[1]['id']}, ...). Give more characters.",
        run_id=text,
    )


def sort_groups(views: list[TaskGroupView]) -> list[TaskGroupView]:
    """Task groups in the order of their first start; never started last, by key."""
    return sorted(views, key=lambda v: (v.first_start is None, v.first_start or 0.0, v.task_key))
