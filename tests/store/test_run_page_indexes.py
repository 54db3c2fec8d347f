"""Revision 0010: a flow run's task runs are indexed in creation order and its log lines by id,
in place of the indexes of the flow run's id alone; an upgraded database keeps its rows, and
the pages of one flow run are read in index order, never sorted whole."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from uuid import uuid4

import pytest
from sqlalchemy import create_engine, inspect, text

from headwater.store import sql_store
from headwater.store.pages import LogFilter, TaskRunFilter
from headwater.store.schema import HEAD_REVISION
from tests.store.test_states import _migrate

RUN = str(uuid4())


def _indexes(url: str) -> dict[str, set[tuple[str, ...]]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = {table: {tuple(ix["column_names"]) for ix in inspect(conn).get_indexes(table)}
                 for table in ("task_runs", "logs")}
    engine.dispose()
    return found


def _old_rows(conn: object) -> None:
    run = {"id": RUN, "name": "r", "parameters": "{}", "tags": "[]", "created": 1.0,
           "run_count": 1}
    conn.execute(text(  # type: ignore[attr-defined]
        "INSERT INTO flow_runs (id, name, parameters, tags, created, run_count, flow_name) "
        "VALUES (:id, :name, :parameters, :tags, :created, :run_count, 'f')"), run)
    for i in range(3):
        conn.execute(text(  # type: ignore[attr-defined]
            "INSERT INTO task_runs (id, name, parameters, tags, created, run_count, task_name, "
            "task_key, flow_run_id) VALUES (:id, :name, '{}', '[]', :created, 1, 't', 'm.t', "
            ":run)"), {"id": str(uuid4()), "name": f"t-{i}", "created": 3.0 - i, "run": RUN})
        conn.execute(text(  # type: ignore[attr-defined]
            "INSERT INTO logs (flow_run_id, logger, level, message, timestamp) "
            "VALUES (:run, 'l', 20, :message, 1.0)"), {"run": RUN, "message": f"line {i}"})


@pytest.fixture(params=["sqlite_url", "pg_url"], ids=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def test_upgrading_to_0010_indexes_a_flow_runs_task_runs_and_lines_and_keeps_them(
    store_url: str,
) -> None:
    _migrate(store_url, "0009", _old_rows)
    assert ("flow_run_id",) in _indexes(store_url)["task_runs"]

    store = sql_store(store_url)
    try:
        names = [t.name for t in store.read_task_run_page(RUN, TaskRunFilter())]  # type: ignore[arg-type]
        lines = [line.message for line in store.read_log_page(RUN, LogFilter())]  # type: ignore[arg-type]
        assert store.schema_revision() == HEAD_REVISION
    finally:
        store.close()

    assert names == ["t-2", "t-1", "t-0"] and lines == ["line 0", "line 1", "line 2"]
    indexes = _indexes(store_url)
    assert ("flow_run_id", "created") in indexes["task_runs"]
    assert ("flow_run_id", "id") in indexes["logs"]
    assert ("flow_run_id",) not in indexes["task_runs"] | indexes["logs"]


def test_downgrading_to_0009_puts_back_the_indexes_of_the_flow_run_alone(store_url: str) -> None:
    _migrate(store_url, "0010")

    _migrate(store_url, "0009", down=True)

    indexes = _indexes(store_url)
    assert ("flow_run_id",) in indexes["task_runs"] and ("flow_run_id",) in indexes["logs"]
    assert ("flow_run_id", "created") not in indexes["task_runs"]
    assert ("flow_run_id", "id") not in indexes["logs"]


def test_a_flow_runs_pages_are_read_in_index_order_without_sorting_every_row(
    sqlite_url: str,
) -> None:
    store = sql_store(sqlite_url)
    store.upgrade()  # a store at the newest schema
    store.close()
    path = sqlite_url.removeprefix("sqlite:///")
    pages = [
        "SELECT * FROM task_runs WHERE flow_run_id = 'x' ORDER BY created, id LIMIT 101",
        "SELECT * FROM logs WHERE flow_run_id = 'x' AND id > 0 ORDER BY id LIMIT 200",
        "SELECT * FROM logs WHERE flow_run_id = 'x' AND id > 0 ORDER BY id DESC LIMIT 200",
        "SELECT max(id) FROM logs WHERE flow_run_id = 'x'",
    ]
    with closing(sqlite3.connect(path)) as conn:
        plans = {sql: " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
                 for sql in pages}

    for sql, plan in plans.items():  # (ties of `created` may be sorted: "RIGHT PART OF")
        assert "INDEX" in plan and "TEMP B-TREE FOR ORDER BY" not in plan, (sql, plan)
