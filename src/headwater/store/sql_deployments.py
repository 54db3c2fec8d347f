"""The deployment methods of the SQL run store (`SqlRunStore` inherits them).

Exactly once comes from two things: a unique (deployment_id, tick) constraint, so serve processes
making the same tick insert one row (`ON CONFLICT DO NOTHING`), and claims made in one write
transaction that locks the rows it takes: `FOR UPDATE SKIP LOCKED` on PostgreSQL (a second
claimer skips them instead of waiting), the database-wide write lock of `BEGIN IMMEDIATE` on
SQLite. A claim only takes rows still `scheduled`, so even a claimer that raced past the lock
could not take a row twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import Connection, Select, and_, delete, func, or_, select, text, update

from headwater.store.base import FINAL_STATE_TYPES, Row
from headwater.store.deployment_rows import (
    deployment_changes,
    deployment_row,
    deployment_run_row,
    deployment_run_view,
    deployment_view,
    final_update,
    pending_update,
    scheduled_flow_run_row,
)
from headwater.store.deployments import (
    CANCELLED_MESSAGE,
    MISSED_MESSAGE,
    ClaimResult,
    DeploymentRunView,
    DeploymentSpec,
    DeploymentView,
    NewDeploymentRun,
)
from headwater.store.schema import (
    deployment_runs,
    deployments,
    flow_runs,
    run_control,
    states,
    task_runs,
)

DELETED_MESSAGE = "Cancelled: its deployment was deleted before a serve process started it."


class SqlDeploymentMethods:
    """Deployments and their runs, in SQL. Mixed into `SqlRunStore`."""

    if TYPE_CHECKING:
        def _write(self, work: Any, what: str) -> Any: ...
        def _reading(self) -> Any: ...
        def _apply_transitions(self, conn: Connection, transitions: list[tuple[Row, Row]]
                               ) -> None: ...
        def read_deployment(self, name: str | UUID) -> DeploymentView: ...

    # -- locking, per dialect -----------------------------------------------------------------
    @staticmethod
    def _for_update(conn: Connection, query: Select[Any], *, skip_locked: bool,
                    of: Any = None) -> Select[Any]:
        """Lock the selected rows on PostgreSQL (SQLite's write transaction already holds the
        database-wide lock)."""
        if conn.dialect.name != "postgresql":
            return query
        return query.with_for_update(skip_locked=skip_locked, of=of)

    def _insert_ignoring_conflicts(self, conn: Connection, table: Any, row: Row) -> bool:
        keys = list(row)
        sql = text(
            f"INSERT INTO {table.name} ({', '.join(keys)}) VALUES "
            f"({', '.join(':' + k for k in keys)}) ON CONFLICT DO NOTHING"
        )
        return bool(conn.execute(sql, row).rowcount == 1)

    # -- deployments --------------------------------------------------------------------------
    def register_deployment(self, spec: DeploymentSpec, *, now: float) -> DeploymentView:
        def work(conn: Connection) -> DeploymentView:
            where = and_(deployments.c.flow_name == spec.flow_name[:255],
                         deployments.c.name == spec.name[:255])
            query = self._for_update(conn, select(deployments).where(where), skip_locked=False)
            current = conn.execute(query).mappings().first()
            if current is None and self._insert_ignoring_conflicts(
                conn, deployments, deployment_row(spec, now)
            ):
                return deployment_view(conn.execute(select(deployments).where(where))
                                       .mappings().one())
            if current is None:  # another process registered it a moment ago
                current = conn.execute(query).mappings().one()
            changes = deployment_changes(spec, dict(current), now)
            if "last_tick" in changes:  # new schedules: the old ones' waiting runs go
                self._delete_unclaimed(conn, current["id"], scheduled_only=True)
            conn.execute(update(deployments).where(deployments.c.id == current["id"])
                         .values(**changes))
            return deployment_view(conn.execute(select(deployments).where(where))
                                   .mappings().one())

        return self._write(work, "register a deployment in")  # type: ignore[no-any-return]

    def read_deployments(self) -> list[DeploymentView]:
        query = select(deployments).order_by(deployments.c.flow_name, deployments.c.name)
        with self._reading() as conn:
            return [deployment_view(row) for row in conn.execute(query).mappings()]

    def set_deployment_paused(
        self, name: str | UUID, paused: bool, *, now: float
    ) -> DeploymentView:
        found = self.read_deployment(name)

        def work(conn: Connection) -> None:
            query = select(deployments).where(deployments.c.id == str(found.id))
            current = conn.execute(self._for_update(conn, query, skip_locked=False)) \
                .mappings().first()
            if current is None:
                return
            values: dict[str, Any] = {"paused": int(paused), "updated": now}
            if paused:
                self._delete_unclaimed(conn, current["id"], scheduled_only=True)
            elif current["paused"]:
                values["schedule_from"] = now
            conn.execute(update(deployments).where(deployments.c.id == current["id"])
                         .values(**values))

        self._write(work, "pause or resume a deployment in")
        return self.read_deployment(found.id)

    def delete_deployment(self, name: str | UUID, *, now: float) -> DeploymentView:
        found = self.read_deployment(name)

        def work(conn: Connection) -> None:
            deployment_id = str(found.id)
            self._delete_unclaimed(conn, deployment_id, scheduled_only=True)
            waiting = [row[0] for row in conn.execute(
                select(deployment_runs.c.flow_run_id).where(
                    deployment_runs.c.deployment_id == deployment_id,
                    deployment_runs.c.status == "scheduled"))]
            for run_id in waiting:
                self._end(conn, run_id, "CANCELLED", "Cancelled", DELETED_MESSAGE, now)
            conn.execute(update(deployment_runs)
                         .where(deployment_runs.c.flow_run_id.in_(waiting))
                         .values(status="cancelled"))
            conn.execute(delete(deployments).where(deployments.c.id == deployment_id))

        self._write(work, "delete a deployment from")
        return found

    def _delete_unclaimed(self, conn: Connection, deployment_id: str, *,
                          scheduled_only: bool) -> None:
        """Delete waiting runs (and their flow runs, which never started)."""
        where = [deployment_runs.c.deployment_id == deployment_id,
                 deployment_runs.c.status == "scheduled"]
        if scheduled_only:
            where.append(deployment_runs.c.tick.is_not(None))
        ids = [row[0] for row in conn.execute(select(deployment_runs.c.flow_run_id).where(*where))]
        if ids:
            conn.execute(delete(flow_runs).where(flow_runs.c.id.in_(ids)))
            conn.execute(delete(states).where(states.c.run_id.in_(ids)))
            conn.execute(delete(deployment_runs).where(deployment_runs.c.flow_run_id.in_(ids)))

    def touch_deployments(
        self, deployment_ids: Sequence[UUID | str], *, now: float, served_by: str
    ) -> None:
        ids = [str(i) for i in deployment_ids]
        if not ids:
            return
        self._write(lambda conn: conn.execute(
            update(deployments).where(deployments.c.id.in_(ids))
            .values(last_served=now, served_by=served_by[:255])), "update deployments in")

    # -- runs ---------------------------------------------------------------------------------
    def create_deployment_runs(
        self, deployment_id: UUID | str, runs: Sequence[NewDeploymentRun], *, now: float
    ) -> list[UUID]:
        def work(conn: Connection) -> list[UUID]:
            query = select(deployments).where(deployments.c.id == str(deployment_id))
            deployment = conn.execute(self._for_update(conn, query, skip_locked=False)) \
                .mappings().first()
            if deployment is None:
                return []
            created: list[UUID] = []
            ticks: list[float] = []
            for run in runs:
                if run.tick is not None:
                    if deployment["paused"]:
                        continue
                    ticks.append(run.tick)
                row = deployment_run_row(run, deployment["id"], now)
                if self._insert_ignoring_conflicts(conn, deployment_runs, row):
                    flow_run, state = scheduled_flow_run_row(run, dict(deployment), now)
                    conn.execute(flow_runs.insert().values(**flow_run))
                    conn.execute(states.insert().values(**state))
                    created.append(UUID(run.flow_run_id))
            if ticks:
                newest = max(ticks)
                conn.execute(
                    update(deployments).where(
                        deployments.c.id == deployment["id"],
                        or_(deployments.c.last_tick.is_(None),
                            deployments.c.last_tick < newest))
                    .values(last_tick=newest))
            return created

        return self._write(work, "schedule deployment runs in")  # type: ignore[no-any-return]

    def _runs_query(self) -> Select[Any]:
        dr, fr = deployment_runs, flow_runs
        return (
            select(dr, fr.c.name, fr.c.parameters, fr.c.state_type, fr.c.state_name)
            .select_from(dr.join(fr, fr.c.id == dr.c.flow_run_id))
        )

    def read_deployment_runs(
        self, deployment_ids: Sequence[UUID | str] | None = None, *,
        statuses: Sequence[str] = ("scheduled",), limit: int | None = 20,
    ) -> list[DeploymentRunView]:
        query = self._runs_query().where(deployment_runs.c.status.in_(list(statuses)))
        if deployment_ids is not None:
            query = query.where(deployment_runs.c.deployment_id.in_(
                [str(i) for i in deployment_ids]))
        query = query.order_by(deployment_runs.c.scheduled_time, deployment_runs.c.flow_run_id)
        if limit is not None:
            query = query.limit(limit)
        with self._reading() as conn:
            return [deployment_run_view(row) for row in conn.execute(query).mappings()]

    def claim_deployment_runs(
        self, deployment_ids: Sequence[UUID | str], *, due_before: float, now: float,
        claimed_by: str, limit: int | None, catchup_seconds: float,
    ) -> ClaimResult:
        ids = [str(i) for i in deployment_ids]
        if not ids or (limit is not None and limit <= 0):
            return ClaimResult([], [])
        return self._write(  # type: ignore[no-any-return]
            lambda conn: self._claim(conn, ids, due_before, now, claimed_by, limit,
                                     catchup_seconds),
            "claim deployment runs in",
        )

    def _claim(self, conn: Connection, ids: list[str], due_before: float, now: float,
               claimed_by: str, limit: int | None, catchup: float) -> ClaimResult:
        dr = deployment_runs
        waiting = and_(dr.c.status == "scheduled", dr.c.deployment_id.in_(ids))
        # The catch-up policy: late ticks with a later tick also due are missed.
        late = self._for_update(conn, select(dr.c.flow_run_id, dr.c.deployment_id, dr.c.tick)
                                .where(waiting, dr.c.tick.is_not(None),
                                       dr.c.scheduled_time < now - catchup),
                                skip_locked=True)
        candidates = list(conn.execute(late).mappings())
        missed: list[str] = []
        if candidates:
            newest = dict(conn.execute(
                select(dr.c.deployment_id, func.max(dr.c.tick))
                .where(dr.c.deployment_id.in_(ids), dr.c.tick <= now)
                .group_by(dr.c.deployment_id)).all())
            missed = [row["flow_run_id"] for row in candidates
                      if row["tick"] < newest.get(row["deployment_id"], row["tick"])]
            message = MISSED_MESSAGE.format(window=catchup)
            for run_id in missed:
                self._end(conn, run_id, "CANCELLED", "Missed", message, now)
            if missed:
                conn.execute(update(dr).where(dr.c.flow_run_id.in_(missed))
                             .values(status="missed"))
        # Runs someone cancelled before a process took them.
        asked = self._for_update(conn, select(dr.c.flow_run_id).where(
            waiting, dr.c.flow_run_id.in_(select(run_control.c.flow_run_id))), skip_locked=True)
        for (run_id,) in conn.execute(asked).all():
            self._end(conn, run_id, "CANCELLED", "Cancelled", CANCELLED_MESSAGE, now)
            conn.execute(update(dr).where(dr.c.flow_run_id == run_id).values(status="cancelled"))
        # The claim itself; a paused deployment's scheduled runs wait.
        due = (
            select(dr.c.flow_run_id)
            .select_from(dr.join(deployments, deployments.c.id == dr.c.deployment_id))
            .where(waiting, dr.c.scheduled_time <= due_before,
                   or_(dr.c.tick.is_(None), deployments.c.paused == 0))
            .order_by(dr.c.scheduled_time, dr.c.flow_run_id)
        )
        if limit is not None:
            due = due.limit(limit)
        rows = conn.execute(self._for_update(
            conn, due.add_columns(dr.c.deployment_id), skip_locked=True, of=dr)).all()
        room = self._room(conn, ids)
        taken: list[str] = []
        for run_id, deployment_id in rows:
            if deployment_id in room:  # a deployment with a concurrency limit
                if room[deployment_id] <= 0:
                    continue
                room[deployment_id] -= 1
            taken.append(run_id)
        if not taken:
            return ClaimResult([], [UUID(i) for i in missed])
        conn.execute(update(dr).where(dr.c.flow_run_id.in_(taken), dr.c.status == "scheduled")
                     .values(status="claimed", claimed_by=claimed_by[:255], claimed_at=now))
        counts = dict(conn.execute(select(flow_runs.c.id, flow_runs.c.run_count)
                                   .where(flow_runs.c.id.in_(taken))).all())
        self._apply_transitions(conn, [pending_update(i, counts.get(i) or 0, now)
                                       for i in taken])
        query = self._runs_query().where(dr.c.flow_run_id.in_(taken)) \
            .order_by(dr.c.scheduled_time, dr.c.flow_run_id)
        claimed = [deployment_run_view(row) for row in conn.execute(query).mappings()]
        return ClaimResult(claimed, [UUID(i) for i in missed])

    def _room(self, conn: Connection, ids: list[str]) -> dict[str, int]:
        """For deployments with a concurrency limit: how many more runs may start. Their rows
        are locked first (PostgreSQL), so claimers of one such deployment take turns."""
        limited = select(deployments.c.id, deployments.c.concurrency_limit).where(
            deployments.c.id.in_(ids), deployments.c.concurrency_limit.is_not(None))
        limits: dict[str, int] = dict(
            conn.execute(self._for_update(conn, limited, skip_locked=False)).all())
        if not limits:
            return {}
        active: dict[str, int] = dict(conn.execute(
            select(deployment_runs.c.deployment_id, func.count())
            .select_from(deployment_runs.join(
                flow_runs, flow_runs.c.id == deployment_runs.c.flow_run_id))
            .where(deployment_runs.c.deployment_id.in_(list(limits)),
                   deployment_runs.c.status == "claimed",
                   or_(flow_runs.c.state_type.is_(None),
                       flow_runs.c.state_type.not_in(FINAL_STATE_TYPES)))
            .group_by(deployment_runs.c.deployment_id)).all())
        return {i: limit - active.get(i, 0) for i, limit in limits.items()}

    def requeue_crashed_runs(
        self, deployment_ids: Sequence[UUID | str], *, now: float
    ) -> list[UUID]:
        ids = [str(i) for i in deployment_ids]
        if not ids:
            return []
        dr = deployment_runs
        crashed = (
            select(dr.c.flow_run_id, dr.c.resumes)
            .select_from(dr.join(deployments, deployments.c.id == dr.c.deployment_id)
                         .join(flow_runs, flow_runs.c.id == dr.c.flow_run_id))
            .where(dr.c.deployment_id.in_(ids), dr.c.status == "claimed",
                   flow_runs.c.state_type == "CRASHED",
                   deployments.c.resume_crashed > func.coalesce(dr.c.resumes, 0))
        )
        with self._reading() as conn:  # most passes find none: no write transaction for them
            found = conn.execute(crashed).all()
        if not found:
            return []
        return self._write(  # type: ignore[no-any-return]
            lambda conn: self._requeue(conn, found, now), "requeue crashed runs in")

    def _requeue(self, conn: Connection, found: list[Any], now: float) -> list[UUID]:
        dr = deployment_runs
        requeued: list[UUID] = []
        for run_id, resumes in found:
            # Only if nobody requeued (and maybe claimed) it since it was read: exactly once.
            seen = dr.c.resumes.is_(None) if resumes is None else dr.c.resumes == resumes
            changed = conn.execute(
                update(dr).where(dr.c.flow_run_id == run_id, dr.c.status == "claimed", seen)
                .values(status="scheduled", scheduled_time=now, claimed_by=None,
                        claimed_at=None, resumes=(resumes or 0) + 1))
            if changed.rowcount == 1:
                requeued.append(UUID(run_id))
        return requeued

    def end_flow_run(
        self, run_id: UUID | str, *, state_type: str, state_name: str, message: str,
        now: float,
    ) -> bool:
        return self._write(  # type: ignore[no-any-return]
            lambda conn: self._end(conn, str(run_id), state_type, state_name, message, now),
            "end a flow run in",
        )

    def _end(self, conn: Connection, run_id: str, state_type: str, state_name: str,
             message: str, now: float) -> bool:
        query = select(flow_runs.c.run_count, flow_runs.c.state_type).where(
            flow_runs.c.id == run_id)
        row = conn.execute(self._for_update(conn, query, skip_locked=False)).first()
        if row is None or row.state_type in FINAL_STATE_TYPES:
            return False
        updates = [final_update(run_id, "flow", row.run_count or 0, state_type, state_name,
                                message, now)]
        unfinished = select(task_runs.c.id, task_runs.c.run_count).where(
            task_runs.c.flow_run_id == run_id,
            or_(task_runs.c.state_type.is_(None),
                task_runs.c.state_type.not_in(FINAL_STATE_TYPES)))
        updates += [final_update(task_id, "task", count or 0, state_type, state_name, message,
                                 now) for task_id, count in conn.execute(unfinished).all()]
        self._apply_transitions(conn, updates)
        return True

    def _cancel_unclaimed(self, run_id: str, now: float) -> None:
        def work(conn: Connection) -> None:
            query = select(deployment_runs.c.flow_run_id).where(
                deployment_runs.c.flow_run_id == run_id,
                deployment_runs.c.status == "scheduled")
            if conn.execute(self._for_update(conn, query, skip_locked=True)).first() is None:
                return
            conn.execute(update(deployment_runs).where(deployment_runs.c.flow_run_id == run_id)
                         .values(status="cancelled"))
            self._end(conn, run_id, "CANCELLED", "Cancelled", CANCELLED_MESSAGE, now)

        self._write(work, "cancel a scheduled run in")
