"""Small helpers for fault tests: count what a store holds, with SQL of its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text


def scalar(url: str, sql: str, **params: Any) -> Any:
    """One value from `sql` run against the store at `url` (a connection of its own)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    except Exception:  # no table yet, or the store is being broken on purpose
        return None
    finally:
        engine.dispose()


def count_task_runs(url: str, state_name: str | None = None) -> int:
    """How many task runs the store holds (in that state, if given)."""
    if state_name is None:
        return int(scalar(url, "SELECT count(*) FROM task_runs") or 0)
    return int(scalar(url, "SELECT count(*) FROM task_runs WHERE state_name = :s",
                      s=state_name) or 0)


def flow_states(url: str) -> list[str | None]:
    """The state name of every flow run in the store, oldest first."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT state_name FROM flow_runs ORDER BY created"))
            return [row[0] for row in rows]
    except Exception:
        return []
    finally:
        engine.dispose()


def terminate_backends(dsn: str, application_name: str) -> int:
    """Drop every PostgreSQL connection whose application_name is `application_name`."""
    import psycopg

    plain = dsn.split("?")[0].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()", (application_name,)
        ).fetchall()
    return len(rows)
