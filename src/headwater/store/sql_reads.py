"""What the SQL run store reads for the CLI and the API: runs, states, logs, lineage, assets
(the pages a UI reads are in `sql_pages.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import Select, case, func, or_, select

from headwater.store.assets import (
    MATERIALIZED,
    materialization_view,
    properties_of,
    walk_lineage,
)
from headwater.store.base import (
    AssetLineageView,
    AssetMaterializationView,
    AssetView,
    DependencyView,
    EventView,
    FlowRunFilter,
    FlowRunView,
    LogView,
    StateView,
    TaskRunView,
)
from headwater.store.pruning import chunks
from headwater.store.rows import (
    dependency_view,
    event_view,
    flow_run_view,
    log_view,
    task_run_view,
)
from headwater.store.schema import (
    asset_edges,
    asset_events,
    dependencies,
    events,
    flow_runs,
    logs,
    states,
    task_runs,
)
from headwater.store.sql_pages import flow_run_conditions
from headwater.store.states import state_view

_IN_LIST = 500  # keys per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


class SqlReads:
    """Reading runs, their states, logs, lineage and assets, in SQL. Mixed into `SqlRunStore`."""

    if TYPE_CHECKING:
        def _reading(self) -> Any: ...

    def read_flow_runs(self, filter: FlowRunFilter | None = None) -> list[FlowRunView]:
        f = filter or FlowRunFilter()
        query = select(flow_runs).where(*flow_run_conditions(f))
        query = query.order_by(flow_runs.c.created.desc(), flow_runs.c.id.desc())
        if f.limit is not None:
            query = query.limit(f.limit)
        with self._reading() as conn:
            return [flow_run_view(row) for row in conn.execute(query).mappings()]

    def read_task_runs(self, flow_run_id: UUID) -> list[TaskRunView]:
        query = (
            select(task_runs).where(task_runs.c.flow_run_id == str(flow_run_id))
            .order_by(task_runs.c.created, task_runs.c.id)
        )
        with self._reading() as conn:
            return [task_run_view(row) for row in conn.execute(query).mappings()]

    def read_states(
        self, run_id: UUID, *, after_id: int = 0, limit: int | None = None
    ) -> list[StateView]:
        query = (
            select(states).where(states.c.run_id == str(run_id), states.c.id > after_id)
            .order_by(states.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._reading() as conn:
            return [state_view(row) for row in conn.execute(query).mappings()]

    def _tasks_of(self, flow_run_id: UUID) -> Select[Any]:
        return select(task_runs.c.id).where(task_runs.c.flow_run_id == str(flow_run_id))

    def read_logs(
        self, flow_run_id: UUID, *, after_id: int = 0, limit: int | None = None
    ) -> list[LogView]:
        query = (
            select(logs)
            .where(or_(logs.c.flow_run_id == str(flow_run_id),
                       logs.c.task_run_id.in_(self._tasks_of(flow_run_id))))
            .where(logs.c.id > after_id)
            .order_by(logs.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._reading() as conn:
            return [log_view(row) for row in conn.execute(query).mappings()]

    def read_dependencies(self, flow_run_id: UUID) -> list[DependencyView]:
        query = (
            select(dependencies)
            .where(dependencies.c.task_run_id.in_(self._tasks_of(flow_run_id)))
            .order_by(dependencies.c.id)
        )
        with self._reading() as conn:
            return [dependency_view(row) for row in conn.execute(query).mappings()]

    def read_events(self, flow_run_id: UUID) -> list[EventView]:
        query = (
            select(events)
            .where(or_(events.c.flow_run_id == str(flow_run_id),
                       events.c.task_run_id.in_(self._tasks_of(flow_run_id))))
            .order_by(events.c.id)
        )
        with self._reading() as conn:
            return [event_view(row) for row in conn.execute(query).mappings()]

    # -- assets -------------------------------------------------------------------------------
    def read_assets(self, keys: Sequence[str] | None = None) -> list[AssetView]:
        if keys is None:
            return self._read_assets(None)
        wanted = sorted(set(keys))
        views = [view for chunk in chunks(wanted, _IN_LIST) for view in self._read_assets(chunk)]
        return sorted(views, key=lambda view: view.key)

    def _read_assets(self, keys: Sequence[str] | None) -> list[AssetView]:
        # Three grouped reads over the (asset_key, timestamp) index: counts and last event,
        # the newest materialization, the newest properties. Window functions need SQLite
        # 3.25 (2018) or any supported PostgreSQL.
        a = asset_events
        made = a.c.kind.in_(MATERIALIZED)
        of_keys = [] if keys is None else [a.c.asset_key.in_(keys)]

        def newest(*where: Any) -> Any:
            rank = func.row_number().over(
                partition_by=a.c.asset_key, order_by=(a.c.timestamp.desc(), a.c.id.desc())
            )
            ranked = select(a, rank.label("rank")).where(*where, *of_keys).subquery()
            return select(ranked).where(ranked.c.rank == 1)

        totals = (
            select(a.c.asset_key, func.max(a.c.timestamp).label("last_seen"),
                   func.sum(case((made, 1), else_=0)).label("made"))
            .where(*of_keys).group_by(a.c.asset_key).order_by(a.c.asset_key)
        )
        with self._reading() as conn:
            rows = list(conn.execute(totals).mappings())
            latest = {r["asset_key"]: r for r in conn.execute(newest(made)).mappings()}
            described = {
                r["asset_key"]: r["properties"]
                for r in conn.execute(newest(a.c.properties != "{}")).mappings()
            }
        views = []
        for row in rows:
            key = row["asset_key"]
            last = latest.get(key)
            views.append(AssetView(
                key=key,
                properties=properties_of(described.get(key)),
                latest_status=last["kind"] if last is not None else None,
                latest_time=last["timestamp"] if last is not None else None,
                materializations=int(row["made"] or 0),
                last_seen=row["last_seen"],
            ))
        return views

    def read_asset_materializations(
        self, key: str, *, limit: int | None = 20
    ) -> list[AssetMaterializationView]:
        query = (
            select(asset_events)
            .where(asset_events.c.asset_key == key, asset_events.c.kind.in_(MATERIALIZED))
            .order_by(asset_events.c.timestamp.desc(), asset_events.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        with self._reading() as conn:
            return [materialization_view(row) for row in conn.execute(query).mappings()]

    def asset_lineage(self, key: str, *, depth: int | None = 1) -> AssetLineageView:
        e = asset_edges

        def lookup(column: Any, keys: set[str]) -> set[tuple[str, str]]:
            found: set[tuple[str, str]] = set()
            with self._reading() as conn:
                for chunk in chunks(sorted(keys), _IN_LIST):
                    query = select(e.c.upstream_key, e.c.downstream_key).where(
                        column.in_(chunk)).distinct()
                    found.update((up, down) for up, down in conn.execute(query))
            return found

        return walk_lineage(
            key, depth,
            lambda keys: lookup(e.c.downstream_key, keys),
            lambda keys: lookup(e.c.upstream_key, keys),
        )
