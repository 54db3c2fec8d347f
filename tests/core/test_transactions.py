"""Transactions, as Prefect 3.9.1 runs them (each behaviour observed there first)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from headwater import flow, task
from headwater.core.states import Failed, State
from headwater.core.transactions import (
    CommitMode,
    IsolationLevel,
    Transaction,
    get_transaction,
    transaction,
)
from headwater.errors import ConfigurationError
from headwater.testing import capture_events


@pytest.fixture(autouse=True)
def _results_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path))
    monkeypatch.setenv("HEADWATER_STORE", "memory")


def test_inside_a_task_get_transaction_is_the_runs_own_keyed_by_its_cache_key() -> None:
    seen: list[Any] = []

    @task
    def look() -> None:
        txn = get_transaction()
        assert txn is not None
        seen.append((txn.state.name, txn.key is not None, txn.write_on_commit,
                     txn.get_parent(), type(txn.store).__name__))

    @flow
    def etl() -> None:
        assert get_transaction() is None
        look()

    etl()
    look()  # outside a flow too
    assert seen == [("ACTIVE", True, False, None, "ResultStore")] * 2


def test_a_task_inside_a_block_is_a_child_of_it_and_reads_its_values() -> None:
    seen: list[Any] = []

    @task
    def look() -> None:
        txn = get_transaction()
        assert txn is not None
        seen.append((txn.get_parent() is outer, txn.get("x")))

    @flow
    def etl() -> None:
        nonlocal outer
        with transaction() as outer:
            outer.set("x", 42)
            look()
            look.submit().wait()
            assert [c.state.name for c in outer.children] == ["STAGED", "STAGED"]
        assert [c.state.name for c in outer.children] == ["COMMITTED", "COMMITTED"]

    outer: Transaction | None = None
    etl()
    assert seen == [(True, 42), (True, 42)]


def test_tasks_rolled_back_with_their_block_record_a_rolled_back_state() -> None:
    @task
    def write(name: str) -> str:
        return name

    @flow
    def etl() -> list[str]:
        names = []
        with pytest.raises(ValueError), transaction():
            state = write("a", return_state=True)
            future = write.submit("b")
            future.wait()
            raise ValueError("stop")
        names.append(state.name)
        names.append(future.state.name)
        return names

    with capture_events() as events:
        assert etl() == ["Completed", "Completed"]  # in memory, as Prefect leaves them

    runs = events.task_runs()
    assert len(runs) == 2
    for run in runs:
        assert events.state_names(run.task_run_id) == ["Pending", "Running", "Completed",
                                                       "RolledBack"]
        last = events.states(run.task_run_id)[-1]
        assert last.type.name == "COMPLETED"
        assert last.message == "Task rolled back as part of transaction"


def test_a_task_that_raises_rolls_back_the_enclosing_transaction_even_if_caught() -> None:
    log: list[str] = []

    @task(on_rollback=[lambda txn: log.append("ok undo")],
          on_commit=[lambda txn: log.append("ok commit")])
    def ok(x: int) -> int:
        return x

    @task(on_rollback=[lambda txn: log.append("boom undo")])
    def boom() -> None:
        raise ValueError("boom")

    @flow
    def etl() -> None:
        with transaction() as txn:
            ok(1)
            with pytest.raises(ValueError):
                boom()
            log.append("caught")
            ok(2)
        log.append(txn.state.name)

    etl()
    assert log == ["ok undo", "caught", "ROLLED_BACK"]


def test_a_task_returning_a_failed_state_runs_its_own_rollback_hooks() -> None:
    log: list[str] = []

    @task(on_rollback=[lambda txn: log.append("undo")])
    def refuse() -> State:
        return Failed(message="nope")

    @flow
    def etl() -> None:
        refuse()

    etl()
    assert log == ["undo"]


def test_commit_hooks_run_before_completion_hooks_and_see_nested_blocks_committed() -> None:
    log: list[str] = []

    @task(on_completion=[lambda t, r, s: log.append(f"completion {get_transaction()}")],
          on_commit=[lambda txn: log.append(f"commit {[c.state.name for c in txn.children]}")])
    def work() -> None:
        with transaction() as inner:
            pass
        assert inner.get_parent() is not None
        log.append(f"inner {inner.state.name}")

    @flow
    def etl() -> None:
        work()

    etl()
    assert log == ["inner ACTIVE", "commit ['COMMITTED']", "completion None"]


def test_a_keyed_transaction_commits_its_staged_value_and_a_later_one_starts_committed(
) -> None:
    with transaction(key="load-1") as first:
        assert first.state.name == "ACTIVE"
        first.stage({"rows": 3})
    assert first.is_committed()

    with transaction(key="load-1") as again:
        assert again.is_committed()
        record = again.read()
        assert record is not None and record.result == {"rows": 3}
        again.stage("ignored")  # no effect once committed
        assert again.is_committed()

    with transaction(key="load-1", overwrite=True) as replace:
        assert replace.is_active()
        replace.stage("new")
    with transaction(key="load-1") as reread:
        assert reread.read().result == "new"  # type: ignore[union-attr]


def test_a_keyed_transaction_that_rolls_back_or_does_not_write_leaves_no_record() -> None:
    with pytest.raises(ValueError), transaction(key="k1") as failed:
        failed.stage(1)
        raise ValueError("x")
    with transaction(key="k2", write_on_commit=False) as quiet:
        quiet.stage(1)
    with transaction(key="k1") as t1, transaction(key="k2", commit_mode=CommitMode.EAGER) as t2:
        assert (t1.state.name, t2.state.name) == ("ACTIVE", "ACTIVE")
        with pytest.raises(ValueError, match="is_committed"):
            t1.read()


def test_an_unkeyed_transaction_has_no_store_and_reads_nothing() -> None:
    with transaction() as txn:
        assert (txn.key, txn.store, txn.read()) == (None, None, None)


def test_serializable_with_a_key_needs_a_lock_manager() -> None:
    with pytest.raises(ConfigurationError, match="lock manager"), transaction(
        key="k", isolation_level=IsolationLevel.SERIALIZABLE
    ):
        pass


def test_a_persisted_task_in_a_rolled_back_block_writes_no_cache_record() -> None:
    calls: list[int] = []

    @task(persist_result=True)
    def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    @flow
    def etl() -> None:
        with pytest.raises(KeyError), transaction():
            double(1)
            raise KeyError("stop")
        double(1)  # runs again: nothing was committed
        assert double(1, return_state=True).name == "Cached"

    etl()
    assert calls == [1, 1]
