"""`prune` for the SQL stores: in many short transactions, so writers never wait long.

Each transaction deletes at most `TASK_RUNS_PER_STEP` task runs (with their logs, events, asset
rows and dependencies), or the own rows of at most `FLOW_RUNS_PER_STEP` flow runs, whose task runs
are all gone by then. A flow run's row goes last: a prune that is stopped half-way leaves runs
that the next prune finishes, never task runs without their flow run. Every transaction checks
again that the flow runs it deletes from are still final (a run may be resumed meanwhile) and, on
PostgreSQL, locks them first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import Connection, and_, delete, exists, func, or_, select

from headwater.store import schema
from headwater.store.base import FINAL_STATE_TYPES, PruneResult
from headwater.store.pruning import (
    FLOW_RUNS_PER_STEP,
    ORPHAN_GRACE_SECONDS,
    TASK_RUNS_PER_STEP,
    chunks,
    doomed_flow_runs,
)
from headwater.store.schema import flow_runs, task_runs

if TYPE_CHECKING:
    from headwater.store.sql import SqlRunStore

_IN_LIST = 500  # ids per IN (...) list
_KEPT_TABLES = ("flow_runs", "task_runs", "deployments")


def _tables_with(column: str) -> list[Any]:
    """Every table (but the runs themselves) with rows keyed by a run: found from the schema,
    so a table added later is pruned too."""
    return [
        table for table in reversed(schema.metadata.sorted_tables)
        if table.name not in _KEPT_TABLES and column in table.c
    ]


def prune(store: SqlRunStore, *, created_before: float, now: float, dry_run: bool) -> PruneResult:
    """See `RunStore.prune`."""
    final = flow_runs.c.state_type.in_(FINAL_STATE_TYPES)
    pair = select(flow_runs.c.id, flow_runs.c.parent_flow_run_id)
    with store._reading() as conn:
        candidates = _pairs(conn.execute(pair.where(final, flow_runs.c.created < created_before)))
        unfinished = _pairs(conn.execute(
            pair.where(or_(flow_runs.c.state_type.is_(None), ~final))))

    def parents_of(ids: set[str]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        with store._reading() as conn:
            for chunk in chunks(sorted(ids), _IN_LIST):
                found.update(_pairs(conn.execute(pair.where(flow_runs.c.id.in_(chunk)))))
        return found

    doomed = doomed_flow_runs(candidates, unfinished, parents_of)
    orphaned_before = min(created_before, now - ORPHAN_GRACE_SECONDS)
    loose = _loose_task_runs(created_before, orphaned_before)
    if dry_run:
        with store._reading() as conn:
            owned = sum(
                conn.execute(select(func.count()).where(task_runs.c.flow_run_id.in_(chunk)))
                .scalar() or 0
                for chunk in chunks(doomed, _IN_LIST)
            )
            standalone, orphans = (
                conn.execute(select(func.count()).where(condition)).scalar() or 0
                for condition in loose
            )
        return PruneResult(
            flow_runs=len(doomed), task_runs=owned + standalone, orphan_task_runs=orphans,
            kept_flow_runs=len(candidates) - len(doomed),
            flow_run_ids=tuple(UUID(i) for i in doomed),
        )

    deleted_flows = deleted_tasks = 0
    for chunk in chunks(doomed, FLOW_RUNS_PER_STEP):
        while True:
            flows, tasks = store._write(lambda conn, c=chunk: _flow_step(store, conn, c), "prune")
            deleted_tasks += tasks
            if not tasks:
                deleted_flows += flows
                break
    counts = []
    for condition in loose:
        total = 0
        while True:
            count = store._write(lambda conn, c=condition: _task_step(conn, c), "prune")
            total += count
            if count < TASK_RUNS_PER_STEP:
                break
        counts.append(total)
    swept = 0
    for table, key, parents, age in _orphan_rows():
        while True:
            count = store._write(
                lambda conn, t=table, k=key, p=parents, a=age: _sweep_step(
                    conn, t, k, p, a, orphaned_before), "prune")
            swept += count
            if count < TASK_RUNS_PER_STEP:
                break
    return PruneResult(
        flow_runs=deleted_flows, task_runs=deleted_tasks + counts[0], orphan_task_runs=counts[1],
        kept_flow_runs=len(candidates) - len(doomed), orphan_rows=swept,
    )


def _orphan_rows() -> list[tuple[Any, Any, Any, Any]]:
    """(table, key column, the runs table it points into, its time column) for every table of
    rows written by a run as it goes (logs, events, asset rows): those whose run is gone are
    orphans too (a run deleted while it was still writing left them)."""
    found = []
    for table in _tables_with("timestamp"):
        for key, parents in (("flow_run_id", (flow_runs,)), ("task_run_id", (task_runs,)),
                             ("run_id", (flow_runs, task_runs))):  # states: of either kind
            if key in table.c:
                found.append((table, table.c[key], parents, table.c.timestamp))
    return found


def _sweep_step(
    conn: Connection, table: Any, key: Any, parents: Any, age: Any, orphaned_before: float
) -> int:
    """One transaction: up to TASK_RUNS_PER_STEP rows of `table` whose run is gone."""
    [primary] = table.primary_key.columns
    doomed = select(primary).where(
        key.is_not(None), age < orphaned_before,
        *(~exists().where(parent.c.id == key) for parent in parents),
    ).limit(TASK_RUNS_PER_STEP)
    ids = [row[0] for row in conn.execute(doomed)]
    for chunk in chunks(ids, _IN_LIST):
        conn.execute(delete(table).where(primary.in_(chunk)))
    return len(ids)


def _pairs(rows: Iterable[Any]) -> dict[str, str | None]:
    return {run_id: parent for run_id, parent in rows}


def _loose_task_runs(created_before: float, orphaned_before: float) -> tuple[Any, Any]:
    """(task runs outside any flow to delete, orphaned task runs to delete)."""
    standalone = and_(
        task_runs.c.flow_run_id.is_(None), task_runs.c.created < created_before,
        task_runs.c.state_type.in_(FINAL_STATE_TYPES),
    )
    orphaned = and_(
        task_runs.c.flow_run_id.is_not(None), task_runs.c.created < orphaned_before,
        ~exists().where(flow_runs.c.id == task_runs.c.flow_run_id),
    )
    return standalone, orphaned


def _flow_step(store: SqlRunStore, conn: Connection, chunk: list[str]) -> tuple[int, int]:
    """One transaction: up to TASK_RUNS_PER_STEP task runs of these flow runs, or, when they
    have none left, the flow runs' own rows. Returns (flow runs deleted, task runs deleted)."""
    still_final = store._lock_rows(select(flow_runs.c.id).where(
        flow_runs.c.id.in_(chunk), flow_runs.c.state_type.in_(FINAL_STATE_TYPES)))
    ids = [row[0] for row in conn.execute(still_final)]
    if not ids:
        return 0, 0
    tasks = [row[0] for row in conn.execute(
        select(task_runs.c.id).where(task_runs.c.flow_run_id.in_(ids)).limit(TASK_RUNS_PER_STEP))]
    if tasks:
        _delete_task_runs(conn, tasks)
        return 0, len(tasks)
    for table in _tables_with("flow_run_id"):
        conn.execute(delete(table).where(table.c.flow_run_id.in_(ids)))
    for table in _tables_with("run_id"):
        conn.execute(delete(table).where(table.c.run_id.in_(ids)))
    return conn.execute(delete(flow_runs).where(flow_runs.c.id.in_(ids))).rowcount, 0


def _task_step(conn: Connection, condition: Any) -> int:
    """One transaction: up to TASK_RUNS_PER_STEP task runs matching `condition`."""
    tasks = [row[0] for row in conn.execute(
        select(task_runs.c.id).where(condition).limit(TASK_RUNS_PER_STEP))]
    if tasks:
        _delete_task_runs(conn, tasks)
    return len(tasks)


def _delete_task_runs(conn: Connection, ids: list[str]) -> None:
    for chunk in chunks(ids, _IN_LIST):
        for table in _tables_with("task_run_id"):
            conn.execute(delete(table).where(table.c.task_run_id.in_(chunk)))
        for table in _tables_with("run_id"):
            conn.execute(delete(table).where(table.c.run_id.in_(chunk)))
        conn.execute(delete(task_runs).where(task_runs.c.id.in_(chunk)))
