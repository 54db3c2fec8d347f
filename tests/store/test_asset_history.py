"""Asset history in the store: the rows the writer makes of asset events, the 0002 migration
that adds them to an existing store, and the functions `headwater assets` calls."""

from __future__ import annotations

import time
from uuid import uuid4

import pytest
from sqlalchemy import create_engine, insert

from headwater.engine import lineage
from headwater.errors import AssetNotFoundError
from headwater.events._rows import BatchBuilder
from headwater.events.records import Event
from headwater.store import MemoryStore, sql_store
from headwater.store.assets import EVENT_KINDS
from headwater.store.history import asset_details, close_keys
from headwater.store.schema import HEAD_REVISION, events
from headwater.store.sql import MIGRATIONS
from tests.contracts.test_run_store_contract import (
    finished_flow,
    materialized,
    task_created,
    write,
)


def test_the_store_reads_the_asset_event_names_the_engine_emits() -> None:
    assert EVENT_KINDS == {
        lineage.SUCCEEDED: "succeeded", lineage.FAILED: "failed", lineage.REFERENCED: "referenced",
    }


def test_the_writer_keeps_asset_events_by_key_and_links_only_succeeded_ones() -> None:
    builder = BatchBuilder(set())
    builder.add_all([
        *materialized("s3://b/out", ["s3://b/in"], by="dbt", metadata={"rows": 1}),
        *materialized("s3://b/out", ["s3://b/other"], failed=True),
        Event("something.else", {"headwater.resource.id": "s3://b/out"}),
        Event(lineage.SUCCEEDED, {"no": "key"}),
    ])

    batch = builder.build()

    assert len(batch.events) == 6  # every event is still stored as an event
    assert [(r["asset_key"], r["kind"]) for r in batch.asset_events] == [
        ("s3://b/in", "referenced"), ("s3://b/out", "succeeded"),
        ("s3://b/other", "referenced"), ("s3://b/out", "failed"),
    ]
    assert batch.asset_events[1]["materialized_by"] == "dbt"
    assert [(e["upstream_key"], e["downstream_key"]) for e in batch.asset_edges] == [
        ("s3://b/in", "s3://b/out")
    ]


@pytest.fixture(params=["sqlite_url", "pg_url"], ids=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def test_a_store_at_0001_is_migrated_on_open_and_its_asset_events_backfilled(
    store_url: str,
) -> None:
    # Given a database at revision 0001 holding asset events recorded before 0002 existed
    from alembic import command
    from alembic.config import Config

    builder = BatchBuilder(set())
    builder.add_all([*materialized("f://clean", ["f://raw"], at=1.0, properties={"name": "C"}),
                     *materialized("f://report", ["f://clean"], at=2.0)])
    engine = create_engine(store_url)
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(insert(events), builder.events)
    engine.dispose()

    # When a store opens it
    store = sql_store(store_url)
    try:
        assets = store.read_assets()

        # Then it is at the newest revision, with the old events in the asset history
        assert store.schema_revision() == HEAD_REVISION
        assert [a.key for a in assets] == ["f://clean", "f://raw", "f://report"]
        assert assets[0].properties == {"name": "C"}
        assert store.read_asset_materializations("f://report")[0].upstream == ("f://clean",)
        assert store.asset_lineage("f://raw", depth=None).downstream == (
            "f://clean", "f://report")
    finally:
        store.close()


def test_asset_details_gathers_history_lineage_and_the_runs_that_made_it() -> None:
    store, run_id, task_id = MemoryStore(), uuid4(), uuid4()
    write(store, *finished_flow(run_id), task_created(task_id, run_id, name="report-1"),
          *materialized("f://report", ["f://raw"], flow_run_id=run_id, task_run_id=task_id,
                        at=time.time()))

    details = asset_details(store, " f://report ")

    assert details.asset.key == "f://report" and details.latest is not None
    assert details.lineage.upstream == ("f://raw",)
    assert [run.id for run in details.flow_runs] == [run_id]
    assert details.task_runs[task_id].name == "report-1"
    assert asset_details(store, "f://raw").latest is None  # referenced only


def test_an_unknown_asset_key_raises_with_close_keys_as_suggestions() -> None:
    store = MemoryStore()
    write(store, *materialized("s3://bucket/sales.csv"), *materialized("gs://lake/inventory"))

    with pytest.raises(AssetNotFoundError, match=r"Did you mean 's3://bucket/sales.csv'\?") as info:
        asset_details(store, "s3://bucket/sale.csv")

    assert info.value.key == "s3://bucket/sale.csv"
    assert info.value.suggestions == ("s3://bucket/sales.csv",)
    assert close_keys("stock", ["s3://bucket/sales.csv", "s3://bucket/stock.csv"]) == (
        "s3://bucket/stock.csv",)
