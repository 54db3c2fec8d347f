"""The SQL run store base, on SQLAlchemy 2 Core; its dialects are in `sqlite.py` and
`postgres.py`.

The base owns the statements; a dialect subclass says how to open an engine, how to take the
migration lock, how to lock rows it is about to mark Crashed, and what to do after a write.

SQLAlchemy (and psycopg) are imported here and only here: this module is loaded by the store
sink's writer (its process, or its thread), the CLI and the server, never by `import headwater`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from headwater.errors import StoreUnavailableError
from headwater.store import schema
from headwater.store.assets import (
    MATERIALIZED,
    materialization_view,
    properties_of,
    walk_lineage,
)
from headwater.store.base import (
    FINAL_STATE_TYPES,
    AssetLineageView,
    AssetMaterializationView,
    AssetView,
    Batch,
    DependencyView,
    EventView,
    FlowRunFilter,
    FlowRunView,
    LogView,
    PruneResult,
    Row,
    RunStore,
    StateView,
    TaskRunView,
)
from headwater.store.diagnosis import explain
from headwater.store.memory import crashed_update
from headwater.store.replay import unseen_rows, update_guard
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
    run_control,
    states,
    task_runs,
)
from headwater.store.sql_deployments import SqlDeploymentMethods
from headwater.store.sql_pages import SqlPageReads, flow_run_conditions
from headwater.store.states import state_view

_CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
MIGRATIONS = Path(__file__).parent / "migrations"


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlRunStore(SqlDeploymentMethods, SqlPageReads, RunStore):
    """A run store in a SQL database. Opens its engine, and migrates, on first use.

    Args:
        url: a SQLAlchemy URL.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._write_engine: Engine | None = None
        self._open_lock = threading.Lock()
        self._update_statements: dict[tuple[str, tuple[str, ...], bool], Any] = {}
        self._insert_sql: dict[tuple[str, tuple[str, ...], bool], str] = {}

    # -- dialect hooks ------------------------------------------------------------------------
    def _create_engines(self) -> tuple[Engine, Engine]:
        """(engine for reads, engine for write transactions)."""
        raise NotImplementedError

    def _lock_for_migration(self, conn: Connection) -> None:
        """Serialize migrations between processes (inside the migration transaction)."""

    def _lock_rows(self, query: Select[Any]) -> Select[Any]:
        """Lock rows about to be updated so concurrent callers skip them."""
        return query

    def _after_write(self, conn: Connection, batch: Batch) -> None:
        """Called inside the batch's transaction, after its rows are written."""

    # -- connections --------------------------------------------------------------------------
    def _engines(self) -> tuple[Engine, Engine]:
        if self._engine is None or self._write_engine is None:
            with self._open_lock:
                if self._engine is None or self._write_engine is None:
                    try:
                        read, write = self._create_engines()
                        self._write_engine = write
                        self._ensure_schema(read)
                    except SQLAlchemyError as exc:
                        self._write_engine = None
                        raise self._unavailable(exc, "open") from exc
                    self._engine = read
        return self._engine, self._write_engine

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        engine, _ = self._engines()
        try:
            with engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise self._unavailable(exc, "read") from exc

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One write transaction; retried by callers of `_write` on a transient lock error."""
        _, engine = self._engines()
        with engine.begin() as conn:
            yield conn

    def _write(self, work: Any, what: str) -> Any:
        """Run `work(conn)` in one write transaction, retrying briefly on lock contention."""
        delay = 0.05
        for attempt in range(8):
            try:
                with self._writing() as conn:
                    return work(conn)
            except OperationalError as exc:
                transient = "locked" in str(exc).lower() or "busy" in str(exc).lower()
                if not transient or attempt == 7:
                    raise self._unavailable(exc, what) from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
            except SQLAlchemyError as exc:
                raise self._unavailable(exc, what) from exc
        raise AssertionError("unreachable")

    def _unavailable(self, exc: BaseException, what: str) -> StoreUnavailableError:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        path = getattr(self, "path", None)
        explained = explain(self.display_url, str(path) if path else None, what, reason)
        if explained is not None:  # a damaged file, a read-only disk: say so, and what to do
            return explained
        if isinstance(exc, IntegrityError):  # reachable and writable: the rows are the problem
            advice = ("The database is reachable; these rows conflict with rows it holds. "
                      "Please report this as a headwater bug, with this message")
        else:
            advice = ("Check that the database is reachable and writable "
                      "(HEADWATER_DATABASE_URL / HEADWATER_HOME), or set HEADWATER_STORE=memory "
                      "to keep runs in memory")
        return StoreUnavailableError(
            f"Could not {what} the run store at {self.display_url!r}: {reason}. {advice}.",
            url=self.display_url,
        )

    # -- schema -------------------------------------------------------------------------------
    def _ensure_schema(self, engine: Engine) -> None:
        with engine.connect() as conn:
            try:  # the common case, one cheap query: the schema is already at head
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except SQLAlchemyError:  # no table yet: a new database
                conn.rollback()
                current = None
        if current != schema.HEAD_REVISION:
            self._migrate()

    def _migrate(self) -> None:
        assert self._write_engine is not None
        with self._write_engine.begin() as conn:
            self._lock_for_migration(conn)
            if _revision(conn) == schema.HEAD_REVISION:  # another process got there first
                return
            from alembic import command
            from alembic.config import Config

            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def upgrade(self) -> None:
        self._engines()
        try:
            self._migrate()
        except SQLAlchemyError as exc:
            raise self._unavailable(exc, "migrate") from exc

    def schema_revision(self) -> str | None:
        """The schema version the database is at (None before the first migration)."""
        with self._reading() as conn:
            return _revision(conn)

    # -- writing ------------------------------------------------------------------------------
    def write_batch(self, batch: Batch) -> None:
        self._write(lambda conn: self._write_batch(conn, batch), "write to")

    def _write_batch(self, conn: Connection, batch: Batch) -> None:
        for name, rows in batch.new_runs():
            if rows:  # a run already there (a replay) is newer than this row: kept as it is
                self._insert_many(conn, schema.TABLES[name], rows, ignore_existing=True,
                                  replay=batch.replay)
        if batch.run_updates:
            self._apply_updates(conn, batch.run_updates, replay=batch.replay)
        # After the updates: a replayed update is told by its stored state.
        for name, rows in batch.appends():
            table = schema.TABLES[name]
            if rows and batch.replay and table is not states:
                rows = unseen_rows(conn, table, rows)
            if rows:
                self._insert_many(conn, table, rows, ignore_existing=table is states,
                                  replay=batch.replay)
        for ids in _chunks(batch.heartbeats):
            conn.execute(
                update(flow_runs).where(flow_runs.c.id.in_(ids)).values(heartbeat=batch.now)
            )
        self._after_write(conn, batch)

    def _insert_many(
        self, conn: Connection, table: Any, rows: list[Row], *, ignore_existing: bool = False,
        replay: bool = False,
    ) -> None:
        """INSERT rows with the driver's executemany: SQLAlchemy's per-row processing would
        cost more than the insert itself. Every row of one list has the same keys, in order
        (the batch builder makes them that way); the SQL text is still built by SQLAlchemy.

        Args:
            ignore_existing: rows whose primary key is taken are left out (ON CONFLICT DO
                NOTHING); a dialect may do so only when `replay` is set.
            replay: the rows may have been inserted already (see `store/replay.py`).
        """
        keys = tuple(rows[0])
        on_conflict = " ON CONFLICT DO NOTHING" if ignore_existing else ""
        sql = self._insert_sql.get((table.name, keys, ignore_existing))
        if sql is None:
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            quote = conn.dialect.identifier_preparer.quote
            sql = (
                f"INSERT INTO {quote(table.name)} ({', '.join(quote(k) for k in keys)}) "
                f"VALUES ({', '.join(mark for _ in keys)}){on_conflict}"
            )
            self._insert_sql[(table.name, keys, ignore_existing)] = sql
        getter = itemgetter(*keys)
        if len(keys) == 1:
            conn.exec_driver_sql(sql, [(getter(row),) for row in rows])
        else:
            conn.exec_driver_sql(sql, [getter(row) for row in rows])

    def _apply_updates(self, conn: Connection, updates: list[Row], *, replay: bool = False
                       ) -> None:
        # executemany needs one statement per shape of update: group rows by their keys.
        groups: dict[tuple[str, tuple[str, ...]], list[Row]] = {}
        for row in updates:
            keys = tuple(sorted(k for k in row if k not in ("id", "kind")))
            params = {f"b_{k}": v for k, v in row.items() if k != "kind"}
            groups.setdefault((row["kind"], keys), []).append(params)
        for (kind, keys), rows in groups.items():
            guarded = replay and "state_type" in keys
            conn.execute(self._update_statement(kind, keys, guarded), rows)

    def _apply_transitions(self, conn: Connection, transitions: list[tuple[Row, Row]]) -> None:
        """Apply run updates the store makes itself (see `states.transition`), with their
        state rows."""
        if transitions:
            self._apply_updates(conn, [update for update, _ in transitions])
            conn.execute(_APPEND_STATE, [state for _, state in transitions])

    def _update_statement(self, kind: str, keys: tuple[str, ...], guarded: bool = False
                          ) -> Any:
        statement = self._update_statements.get((kind, keys, guarded))
        if statement is None:
            table = flow_runs if kind == "flow" else task_runs
            values: dict[str, Any] = {}
            for key in keys:
                value: Any = bindparam(f"b_{key}")
                if key == "start_time":  # the first Running state wins
                    value = func.coalesce(table.c.start_time, value)
                values[key] = value
            statement = update(table).where(table.c.id == bindparam("b_id"))
            if guarded:  # a replay: only runs whose new state is not stored yet
                statement = statement.where(update_guard(states, bindparam("b_id"), keys))
            statement = statement.values(values)
            self._update_statements[(kind, keys, guarded)] = statement
        return statement

    # -- reading ------------------------------------------------------------------------------
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
        views = [view for chunk in _chunks(wanted) for view in self._read_assets(chunk)]
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
                for chunk in _chunks(sorted(keys)):
                    query = select(e.c.upstream_key, e.c.downstream_key).where(
                        column.in_(chunk)).distinct()
                    found.update((up, down) for up, down in conn.execute(query))
            return found

        return walk_lineage(
            key, depth,
            lambda keys: lookup(e.c.downstream_key, keys),
            lambda keys: lookup(e.c.upstream_key, keys),
        )

    # -- maintenance --------------------------------------------------------------------------
    def mark_crashed(self, *, heartbeat_before: float, now: float) -> list[UUID]:
        return self._write(  # type: ignore[no-any-return]
            lambda conn: self._mark_crashed(conn, heartbeat_before, now), "mark crashed runs in"
        )

    def _mark_crashed(self, conn: Connection, heartbeat_before: float, now: float) -> list[UUID]:
        unfinished = or_(flow_runs.c.state_type.is_(None),
                         flow_runs.c.state_type.not_in(FINAL_STATE_TYPES))
        # A deployment run still waiting for its time has no process to heartbeat it.
        waiting = and_(func.coalesce(flow_runs.c.state_type, "") == "SCHEDULED",
                       flow_runs.c.start_time.is_(None))
        alive = func.coalesce(flow_runs.c.heartbeat, flow_runs.c.created)
        query = self._lock_rows(
            select(flow_runs.c.id, flow_runs.c.run_count)
            .where(unfinished, ~waiting, alive < heartbeat_before)
        )
        flows = [dict(row) for row in conn.execute(query).mappings()]
        if not flows:
            return []
        runs: list[tuple[Row, str]] = [(row, "flow") for row in flows]
        for ids in _chunks([row["id"] for row in flows]):
            task_query = select(task_runs.c.id, task_runs.c.run_count).where(
                task_runs.c.flow_run_id.in_(ids),
                or_(task_runs.c.state_type.is_(None),
                    task_runs.c.state_type.not_in(FINAL_STATE_TYPES)),
            )
            runs.extend((dict(row), "task") for row in conn.execute(task_query).mappings())
        self._apply_transitions(conn, [crashed_update(row, kind, now) for row, kind in runs])
        return [UUID(row["id"]) for row in flows]

    # -- run control ------------------------------------------------------------------------------
    def _write_cancel_request(self, run_id: str, requested_by: str | None, now: float) -> None:
        statement = text(
            "INSERT INTO run_control (flow_run_id, action, requested_at, requested_by) "
            "VALUES (:id, 'cancel', :now, :by) ON CONFLICT (flow_run_id) DO NOTHING"
        )
        self._write(lambda conn: conn.execute(statement, {"id": run_id, "now": now,
                                                          "by": requested_by}),
                    "record a cancel request in")

    def read_cancel_requests(self, flow_run_ids: Sequence[str]) -> list[str]:
        found: list[str] = []
        with self._reading() as conn:
            for ids in _chunks(list(flow_run_ids)):
                query = select(run_control.c.flow_run_id).where(
                    run_control.c.flow_run_id.in_(ids), run_control.c.action == "cancel")
                found.extend(row[0] for row in conn.execute(query))
        return found

    def prune(
        self, *, created_before: float, now: float | None = None, dry_run: bool = False
    ) -> PruneResult:
        from headwater.store.sql_prune import prune

        return prune(self, created_before=created_before,
                     now=time.time() if now is None else now, dry_run=dry_run)

    def reset(self) -> None:
        def work(conn: Connection) -> None:
            for table in schema.ALL_TABLES:
                conn.execute(delete(table))

        self._write(work, "reset")

    def close(self) -> None:
        with self._open_lock:
            for engine in (self._engine, self._write_engine):
                if engine is not None:
                    engine.dispose()
            self._engine = self._write_engine = None


def _append_state() -> Any:
    """INSERT one state row with the next free `seq` of its key: a transition the store makes
    itself is new even if an earlier one agrees on everything (a serve loop's stopped clock)."""
    values = {name: cast(bindparam(name), states.c[name].type)
              for name in ("run_id", "kind", "type", "name", "message", "timestamp",
                           "run_count", "data")}
    same = [states.c[name] == values[name] for name in ("run_id", "timestamp", "type",
                                                        "run_count")]
    seq = func.coalesce(func.max(states.c.seq) + 1, 0)
    return insert(states).from_select(
        [*values, "seq"], select(*values.values(), seq).where(*same))


_APPEND_STATE = _append_state()


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
