"""The page and aggregate reads of the SQL stores (see `pages.py`): one indexed query each.

Mixed into `SqlRunStore`. Pages use keyset cursors over the indexes revision 0005 adds
(`(parent_flow_run_id, created)`, `(flow_name, created)`, `(state_type, created)` on flow
runs; `(flow_run_id, start_time)` and `(flow_run_id, state_timestamp)` on task runs), so page
100 costs what page 1 costs; counts and sums are `GROUP BY`s the database does.

The sums per task and the dependencies per pair of tasks read every task run of a flow run
(about 0.1 and 0.3 s of CPU at 100,000 task runs). A final flow run's task runs do not change,
so once its run is final a store keeps these two answers (`AggregateCache`) with the flow run's
state and its task runs' count and newest state: while those stay the same it answers from
memory; a resumed run, a run marked Crashed or a late task run changes them, and the sums are
read again. A running flow run's sums are always read afresh.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from sqlalchemy import Connection, Integer, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import aliased

from headwater.store.batch import FINAL_STATE_TYPES
from headwater.store.memory_pages import one_task_run, sort_groups
from headwater.store.pages import (
    DependencyGroupView,
    FlowSummaryView,
    LogFilter,
    TaskGroupView,
    TaskRunFilter,
    count_by_state,
)
from headwater.store.pruning import chunks
from headwater.store.schema import dependencies, flow_runs, logs, task_runs

if TYPE_CHECKING:
    from headwater.store.base import FlowRunFilter, LogView, TaskRunView


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _id_matches(column: Any, text: str) -> Any:
    """A full id is an equality (the primary key's index); a prefix is a LIKE."""
    text = text.strip().lower()
    if len(text) == 36:
        return column == text
    return column.like(f"{_like_escape(text)}%", escape="\\")


def flow_run_conditions(f: FlowRunFilter, *, with_bounds: bool = True) -> list[Any]:
    """The WHERE conditions of a `FlowRunFilter` (all of it but the limit)."""
    c = flow_runs.c
    where: list[Any] = []
    if f.flow_name is not None:
        where.append(c.flow_name == f.flow_name)
    if f.state is not None:
        wanted = f.state.strip().lower()
        where.append(or_(func.lower(c.state_type) == wanted, func.lower(c.state_name) == wanted))
    if f.parent_flow_run_id is not None:
        where.append(c.parent_flow_run_id == str(f.parent_flow_run_id))
    if f.roots_only:
        where.append(c.parent_flow_run_id.is_(None))
    if f.state_types:
        where.append(c.state_type.in_(f.state_types))
    for tag in f.tags:
        # Tags are a JSON list of strings: a tag is there when its JSON literal is.
        where.append(c.tags.like(f"%{_like_escape(json.dumps(tag))}%", escape="\\"))
    if f.ids:
        where.append(or_(*(_id_matches(c.id, p) for p in f.ids)))
    if with_bounds:
        if f.created_before is not None:
            where.append(c.created < f.created_before)
        if f.created_after is not None:
            where.append(c.created >= f.created_after)
    if f.after is not None:
        created, run_id = f.after
        where.append(or_(c.created < created, and_(c.created == created, c.id < run_id)))
    return where


def _task_conditions(flow_run_id: UUID, f: TaskRunFilter) -> list[Any]:
    c = task_runs.c
    where: list[Any] = [c.flow_run_id == str(flow_run_id)]
    if f.state_types:
        where.append(func.coalesce(c.state_type, "PENDING").in_(f.state_types))
    if f.task_key is not None:
        where.append(c.task_key == f.task_key)
    if f.window is not None:
        start, end = f.window
        where.append(c.start_time < end)
        where.append(or_(c.end_time.is_(None), c.end_time >= start))
    return where


T = TypeVar("T")


class AggregateCache:
    """The sums of final flow runs, each kept with the token it was read under; the `size`
    most recently used are kept. Safe to use from several threads (the server's)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str], tuple[tuple[Any, ...], Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], token: tuple[Any, ...]) -> Any:
        """The value kept for `key` under this `token`, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != token:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: tuple[str, str], token: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            self._entries[key] = (token, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


class SqlPageReads:
    """The reads of `pages.py`, for `SqlRunStore` (which provides `_reading` and
    `_aggregate_cache`)."""

    _aggregate_cache: AggregateCache

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _final_token(self, flow_run_id: UUID) -> tuple[Any, ...] | None:
        """What the sums of a final flow run depend on (its state, its task runs' count and
        newest state), or None while the run is not final (or not stored)."""
        f, t = flow_runs.c, task_runs.c
        run_id = str(flow_run_id)
        query = select(
            f.state_type, f.state_timestamp, f.run_count,
            select(func.count()).where(t.flow_run_id == run_id).scalar_subquery(),
            select(func.max(t.state_timestamp)).where(t.flow_run_id == run_id)
            .scalar_subquery(),
        ).where(f.id == run_id)
        with self._reading() as conn:
            row = conn.execute(query).first()
        if row is None or row[0] not in FINAL_STATE_TYPES:
            return None
        return tuple(row)

    def _kept_if_final(self, kind: str, flow_run_id: UUID, read: Callable[[], list[T]]
                       ) -> list[T]:
        """`read()`, or what it returned last time if the flow run is final and its token is
        the same (the token is read first: a change made meanwhile misses the next time)."""
        token = self._final_token(flow_run_id)
        if token is None:
            return read()
        key = (kind, str(flow_run_id))
        kept: list[T] | None = self._aggregate_cache.get(key, token)
        if kept is None:
            kept = read()
            self._aggregate_cache.put(key, token, kept)
        return list(kept)

    def _rows(self, query: Any) -> Iterator[Any]:
        with self._reading() as conn:
            yield from list(conn.execute(query).mappings())

    def count_flow_runs(self, filter: FlowRunFilter | None = None) -> dict[str, int]:
        from headwater.store.base import FlowRunFilter

        f = FlowRunFilter(**{**vars(filter or FlowRunFilter()), "after": None})
        query = (select(flow_runs.c.state_type, func.count())
                 .where(*flow_run_conditions(f)).group_by(flow_runs.c.state_type))
        with self._reading() as conn:
            return count_by_state([(row[0], row[1]) for row in conn.execute(query)])

    def flow_run_histogram(
        self, filter: FlowRunFilter | None, *, start: float, end: float, buckets: int
    ) -> list[dict[str, int]]:
        from headwater.store.base import FlowRunFilter

        f = FlowRunFilter(**{**vars(filter or FlowRunFilter()), "after": None})
        width = (end - start) / buckets
        c = flow_runs.c
        counts: list[dict[str, int]] = [{} for _ in range(buckets)]
        with self._reading() as conn:
            offset = (c.created - literal(start)) / literal(width)
            # created >= start, so truncation is the floor; PostgreSQL's CAST rounds instead.
            bucket = (func.floor(offset) if conn.dialect.name == "postgresql"
                      else cast(offset, Integer))
            query = (
                select(bucket.label("bucket"), c.state_type, func.count())
                .where(c.created >= start, c.created < end,
                       *flow_run_conditions(f, with_bounds=False))
                .group_by("bucket", c.state_type)
            )
            for index, state_type, count in conn.execute(query):
                slot = counts[min(int(index), buckets - 1)]
                key = state_type or "PENDING"
                slot[key] = slot.get(key, 0) + int(count)
        return counts

    def count_subflows(self, parent_ids: Sequence[UUID]) -> dict[UUID, int]:
        if not parent_ids:
            return {}
        c = flow_runs.c
        query = (select(c.parent_flow_run_id, func.count())
                 .where(c.parent_flow_run_id.in_([str(i) for i in parent_ids]))
                 .group_by(c.parent_flow_run_id))
        with self._reading() as conn:
            return {UUID(parent): int(n) for parent, n in conn.execute(query)}

    def read_flows(self) -> list[FlowSummaryView]:
        c = flow_runs.c
        query = (select(c.flow_name, func.count(), func.max(c.created))
                 .group_by(c.flow_name).order_by(c.flow_name))
        with self._reading() as conn:
            return [FlowSummaryView(name, int(n), last) for name, n, last in conn.execute(query)]

    def read_task_run(self, run_id: UUID | str) -> TaskRunView:
        from headwater.store.rows import task_run_view

        text = str(run_id).strip().lower()
        query = select(task_runs).where(_id_matches(task_runs.c.id, text)).limit(2)
        return task_run_view(one_task_run(text, list(self._rows(query))))

    def read_task_runs_by_id(self, ids: Sequence[UUID]) -> list[TaskRunView]:
        from headwater.store.rows import task_run_view

        views: list[TaskRunView] = []
        wanted = [str(i) for i in ids]
        for start in range(0, len(wanted), 500):
            query = select(task_runs).where(task_runs.c.id.in_(wanted[start:start + 500]))
            views += [task_run_view(row) for row in self._rows(query)]
        return views

    def read_task_run_page(self, flow_run_id: UUID, filter: TaskRunFilter) -> list[TaskRunView]:
        from headwater.store.rows import task_run_view

        c = task_runs.c
        if filter.order == "created":
            key = c.created
        elif filter.order == "start_time":
            key = c.start_time
        else:
            raise ValueError(
                f"order={filter.order!r} is not a task run order. Use 'created' or "
                f"'start_time'."
            )
        where = _task_conditions(flow_run_id, filter)
        if filter.order == "start_time":
            where.append(c.start_time.is_not(None))
        if filter.after is not None:
            value, run_id = filter.after
            where.append(or_(key > value, and_(key == value, c.id > run_id)))
        query = select(task_runs).where(*where).order_by(key, c.id).limit(filter.limit)
        return [task_run_view(row) for row in self._rows(query)]

    def count_task_runs(
        self, flow_run_id: UUID, filter: TaskRunFilter | None = None
    ) -> dict[str, int]:
        c = task_runs.c
        query = (select(c.state_type, func.count())
                 .where(*_task_conditions(flow_run_id, filter or TaskRunFilter()))
                 .group_by(c.state_type))
        with self._reading() as conn:
            return count_by_state([(row[0], row[1]) for row in conn.execute(query)])

    def task_run_summary(self, flow_run_id: UUID) -> list[TaskGroupView]:
        return self._kept_if_final("tasks", flow_run_id,
                                   lambda: self._read_task_run_summary(flow_run_id))

    def _read_task_run_summary(self, flow_run_id: UUID) -> list[TaskGroupView]:
        c = task_runs.c
        took = c.end_time - c.start_time
        query = (
            select(c.task_key, func.min(c.task_name), c.state_type, func.count(),
                   func.min(c.start_time), func.max(c.end_time),
                   func.sum(case((took > 0, took), else_=0.0)), func.max(took))
            .where(c.flow_run_id == str(flow_run_id))
            .group_by(c.task_key, c.state_type)
        )
        groups: dict[str, dict[str, Any]] = {}
        with self._reading() as conn:
            for key, name, state, n, first, last, total, longest in conn.execute(query):
                g = groups.setdefault(key, {"name": name, "total": 0, "states": [],
                                            "starts": [], "ends": [], "sum": 0.0, "max": []})
                g["total"] += int(n)
                g["states"].append((state, n))
                g["starts"] += [first] if first is not None else []
                g["ends"] += [last] if last is not None else []
                g["sum"] += float(total or 0.0)
                g["max"] += [max(0.0, float(longest))] if longest is not None else []
        return sort_groups([
            TaskGroupView(
                task_key=key, task_name=g["name"], total=g["total"],
                states=count_by_state(g["states"]),
                first_start=min(g["starts"], default=None), last_end=max(g["ends"], default=None),
                total_duration=g["sum"], max_duration=max(g["max"], default=None),
            )
            for key, g in groups.items()
        ])

    def dependency_summary(self, flow_run_id: UUID) -> list[DependencyGroupView]:
        return self._kept_if_final("dependencies", flow_run_id,
                                   lambda: self._read_dependency_summary(flow_run_id))

    def _read_dependency_summary(self, flow_run_id: UUID) -> list[DependencyGroupView]:
        # One grouped join over the run's own task runs: an upstream run is almost always a
        # task run of the same flow run (found among them, without probing every flow run).
        # The rest (a subflow run, another run's task run, a run not stored) are grouped by
        # their id and looked up once per id.
        run_id = str(flow_run_id)
        down, up = aliased(task_runs), aliased(task_runs)
        d = dependencies.c
        other = case((up.c.id.is_(None), d.upstream_run_id))
        query = (
            select(up.c.task_key, other, down.c.task_key, func.count())
            .select_from(down)
            .join(dependencies, d.task_run_id == down.c.id)
            .outerjoin(up, and_(up.c.id == d.upstream_run_id, up.c.flow_run_id == run_id))
            .where(down.c.flow_run_id == run_id)
            .group_by(up.c.task_key, other, down.c.task_key)
        )
        counts: dict[tuple[str, str, str], int] = {}
        with self._reading() as conn:
            rows = list(conn.execute(query))
            elsewhere = sorted({upstream for _, upstream, _, _ in rows if upstream is not None})
            names: dict[str, tuple[str, str]] = {}
            for table, kind, name in ((flow_runs, "flow", flow_runs.c.flow_name),
                                      (task_runs, "task", task_runs.c.task_key)):
                for ids in chunks(elsewhere, 500):
                    names.update((found, (kind, key)) for found, key in conn.execute(
                        select(table.c.id, name).where(table.c.id.in_(ids))))
        for up_key, upstream, down_key, n in rows:
            group = (("task", up_key) if upstream is None
                     else names.get(upstream, ("run", upstream)))
            whole = (group[0], group[1], down_key)
            counts[whole] = counts.get(whole, 0) + int(n)
        groups = [DependencyGroupView(kind, key, dn, n) for (kind, key, dn), n in counts.items()]
        return sorted(groups, key=lambda g: (g.upstream_key, g.downstream_key))

    def read_log_page(self, flow_run_id: UUID, filter: LogFilter) -> list[LogView]:
        from headwater.store.rows import log_view

        c = logs.c
        where: list[Any] = [c.flow_run_id == str(flow_run_id), c.id > filter.after_id]
        if filter.before_id is not None:
            where.append(c.id < filter.before_id)
        if filter.min_level > 0:
            where.append(c.level >= filter.min_level)
        if filter.task_run_id is not None:
            where.append(c.task_run_id == filter.task_run_id)
        order = c.id.desc() if filter.newest_first else c.id
        query = select(logs).where(*where).order_by(order).limit(filter.limit)
        return [log_view(row) for row in self._rows(query)]

    def read_change_token(self, flow_run_id: UUID | None = None) -> str:
        f, t = flow_runs.c, task_runs.c
        if flow_run_id is None:
            parts: list[Any] = [
                select(func.max(f.created)).scalar_subquery(),
                select(func.max(f.state_timestamp)).scalar_subquery(),
            ]
        else:
            run_id = str(flow_run_id)
            parts = [
                select(f.state_timestamp).where(f.id == run_id).scalar_subquery(),
                select(func.count()).where(t.flow_run_id == run_id).scalar_subquery(),
                select(func.max(t.state_timestamp)).where(t.flow_run_id == run_id)
                .scalar_subquery(),
                select(func.max(logs.c.id)).where(logs.c.flow_run_id == run_id)
                .scalar_subquery(),
            ]
        with self._reading() as conn:
            row = conn.execute(select(*parts)).one()
        return ":".join("-" if p is None else repr(p) for p in row)
