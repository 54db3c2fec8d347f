"""State history as rows of `states`: an upgraded database keeps every state its runs' `history`
text held, a replayed state is stored once, and readers page through a run's states."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Connection, create_engine, text

from headwater.core.states import Completed, Paused, Pending, Running
from headwater.events._rows import BatchBuilder
from headwater.events.records import FlowRunCreated, StateChanged
from headwater.store import sql_store
from headwater.store.base import RunStore
from headwater.store.memory import MemoryStore
from headwater.store.schema import HEAD_REVISION
from headwater.store.sql import MIGRATIONS


@pytest.fixture(params=["sqlite_url", "pg_url"], ids=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.fixture(params=["memory", "sqlite_url", "pg_url"])
def store(request: pytest.FixtureRequest) -> Iterator[RunStore]:
    if request.param == "memory":
        yield MemoryStore()
        return
    made = sql_store(request.getfixturevalue(request.param))
    yield made
    made.close()


def _migrate(url: str, revision: str, work: Any = None, *, down: bool = False) -> None:
    from alembic import command
    from alembic.config import Config

    engine = create_engine(url)
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)
        if work is not None:
            work(conn)
    engine.dispose()


def _line(type: str, name: str, message: str | None, at: float, run_count: int,
          data: str | None = None) -> str:
    return json.dumps([type, name, message, at, run_count, data]) + "\n"


FLOW, TASK = str(uuid4()), str(uuid4())
FLOW_HISTORY = (
    _line("PENDING", "Pending", None, 1.0, 0) + _line("RUNNING", "Running", None, 1.5, 1)
    + _line("CRASHED", "Crashed", "no heartbeat", 9.0, 1)
    + _line("COMPLETED", "Completed", None, 10.0, 1, "42")
)
TASK_HISTORY = (
    _line("RUNNING", "Running", None, 2.0, 1) + _line("PAUSED", "Paused", "wait", 2.0, 1)
    + _line("RUNNING", "Running", None, 2.0, 1)  # a stopped clock: the same transition again
    + "not json\n" + _line("COMPLETED", "Completed", None, 3.0, 1, '"done"')
)


def _old_runs(conn: Connection) -> None:
    run = ("'{}', '[]', 1.0, 'COMPLETED', 'Completed', NULL, 10.0, 1.5, 10.0, 1, '42'")
    conn.execute(text(
        f"INSERT INTO flow_runs (id, name, parameters, tags, created, state_type, state_name, "
        f"state_message, state_timestamp, start_time, end_time, run_count, result, history, "
        f"flow_name) VALUES (:id, 'old', {run}, :history, 'etl')"),
        {"id": FLOW, "history": FLOW_HISTORY})
    conn.execute(text(
        f"INSERT INTO task_runs (id, name, parameters, tags, created, state_type, state_name, "
        f"state_message, state_timestamp, start_time, end_time, run_count, result, history, "
        f"task_name, task_key, flow_run_id) VALUES (:id, 'old-0', {run}, :history, 't', "
        f"'t-key', :flow)"), {"id": TASK, "history": TASK_HISTORY, "flow": FLOW})


def test_a_database_at_0008_is_upgraded_with_every_state_of_its_history_as_rows(
    store_url: str,
) -> None:
    # Given a database at revision 0008 whose runs keep their states in `history` text
    _migrate(store_url, "0008", _old_runs)

    # When a store opens it
    store = sql_store(store_url)
    try:
        flow_states = store.read_states(UUID(FLOW))
        task_states = store.read_states(UUID(TASK))

        # Then every readable line is a state row, in its order, with all it held
        assert store.schema_revision() == HEAD_REVISION
        assert [(s.name, s.timestamp, s.run_count) for s in flow_states] == [
            ("Pending", 1.0, 0), ("Running", 1.5, 1), ("Crashed", 9.0, 1), ("Completed", 10.0, 1)]
        assert flow_states[2].message == "no heartbeat" and flow_states[3].data == "42"
        assert {s.kind for s in flow_states} == {"flow"}
        assert [s.name for s in task_states] == ["Running", "Paused", "Running", "Completed"]
        assert task_states[-1].data == '"done"' and task_states[0].kind == "task"
    finally:
        store.close()


def test_downgrading_to_0008_writes_the_states_back_as_history_text(store_url: str) -> None:
    _migrate(store_url, "0008", _old_runs)
    _migrate(store_url, "0009")

    histories: dict[str, str] = {}
    _migrate(store_url, "0008", lambda conn: histories.update(
        conn.execute(text("SELECT id, history FROM flow_runs UNION ALL "
                          "SELECT id, history FROM task_runs")).all()), down=True)

    assert histories[FLOW] == FLOW_HISTORY
    assert histories[TASK] == TASK_HISTORY.replace("not json\n", "")


def _batch_of(*records: object, replay: bool = False) -> Any:
    builder = BatchBuilder(set())
    builder.add_all(records)
    return builder.build(now=1.0, replay=replay)


def test_a_state_stored_already_comes_again_with_a_new_one_and_is_stored_once(
    store: RunStore,
) -> None:
    run_id = uuid4()
    store.write_batch(_batch_of(FlowRunCreated(run_id, "r", "f", None, {}, frozenset(), None,
                                               None, 1.0),
                                StateChanged(run_id, "flow", Running(timestamp=1.0), 1)))

    # A batch cut differently on its way back (a writer resending frames) overlaps the first
    store.write_batch(_batch_of(StateChanged(run_id, "flow", Running(timestamp=1.0), 1),
                                StateChanged(run_id, "flow", Completed(timestamp=2.0), 1),
                                replay=True))

    assert [s.name for s in store.read_states(run_id)] == ["Running", "Completed"]
    assert store.read_flow_runs()[0].state_name == "Completed"


def test_one_transition_made_twice_in_a_batch_is_kept_twice(store: RunStore) -> None:
    run_id = uuid4()
    store.write_batch(_batch_of(
        FlowRunCreated(run_id, "r", "f", None, {}, frozenset(), None, None, 1.0),
        StateChanged(run_id, "flow", Pending(timestamp=1.0), 0),
        StateChanged(run_id, "flow", Running(timestamp=1.0), 1),
        StateChanged(run_id, "flow", Paused(timestamp=1.0), 1),
        StateChanged(run_id, "flow", Running(timestamp=1.0), 1),
    ))

    assert [s.name for s in store.read_states(run_id)] == [
        "Pending", "Running", "Paused", "Running"]


def test_a_runs_states_are_read_a_page_at_a_time_in_order(store: RunStore) -> None:
    run_id = uuid4()
    records: list[object] = [
        FlowRunCreated(run_id, "r", "f", None, {}, frozenset(), None, None, 1.0)]
    records += [StateChanged(run_id, "flow", Running(timestamp=1.0 + i), i) for i in range(7)]
    store.write_batch(_batch_of(*records))

    pages, after = [], 0
    while page := store.read_states(run_id, after_id=after, limit=3):
        pages.append([s.run_count for s in page])
        after = page[-1].id

    assert pages == [[0, 1, 2], [3, 4, 5], [6]]
    assert store.read_states(uuid4()) == []


def test_pruning_deletes_a_runs_states_and_states_whose_run_is_long_gone(
    store: RunStore,
) -> None:
    done, stray = uuid4(), uuid4()
    store.write_batch(_batch_of(
        FlowRunCreated(done, "r", "f", None, {}, frozenset(), None, None, 1.0),
        StateChanged(done, "flow", Completed(timestamp=2.0), 1),
        StateChanged(stray, "task", Completed(timestamp=2.0), 1),  # its run never arrived
    ))

    result = store.prune(created_before=100.0, now=100.0 + 7200)

    assert result.flow_runs == 1 and result.orphan_rows == 1
    assert store.read_states(done) == [] and store.read_states(stray) == []
