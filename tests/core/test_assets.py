"""Assets: keys, materializing tasks, inferred lineage, metadata, events."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from headwater import flow, task
from headwater.assets import (
    Asset,
    AssetKeyError,
    AssetProperties,
    MaterializingTask,
    add_asset_metadata,
    materialize,
)
from headwater.core.assets import validate_key
from headwater.events.memory import MemorySink
from headwater.events.records import Event
from headwater.runners.dask import DaskTaskRunner
from headwater.runners.process import ProcessPoolTaskRunner

SUCCEEDED = "headwater.asset.materialization.succeeded"
FAILED = "headwater.asset.materialization.failed"
REFERENCED = "headwater.asset.referenced"


def _events(sink: MemorySink) -> list[tuple[str, str, list[str], dict[str, Any]]]:
    """(name, asset key, related ids, payload) for every asset event, in order."""
    return [
        (e.name, e.resource["headwater.resource.id"],
         [r["headwater.resource.id"] for r in e.related], e.payload)
        for e in sink.of_type(Event)
    ]


def _upstream_of(sink: MemorySink, key: str) -> set[str]:
    [event] = [e for e in sink.of_type(Event)
               if e.name == SUCCEEDED and e.resource["headwater.resource.id"] == key]
    return {r["headwater.resource.id"] for r in event.related
            if r["headwater.resource.role"] == "asset"}


# -- keys -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "rule"), [
    ("UPPERCASE://x", "lowercase scheme"),
    ("/path/to/file", "lowercase scheme"),
    ("invalid-key", "lowercase scheme"),
    ("://x", "lowercase scheme"),
    ("s3://bucket/has space", "' '"),
    ("s3://bucket/a#b", "'#'"),
    ("s3://bucket/" + "x" * 600, "cannot exceed 512"),
])
def test_a_bad_key_is_rejected_at_decoration_naming_the_rule(key: str, rule: str) -> None:
    # A pydantic ValidationError, as Prefect's pydantic Asset raises; still a ValueError.
    with pytest.raises(pydantic.ValidationError) as info:
        materialize(key)(lambda: None)
    assert rule in str(info.value)
    assert key[:20] in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(AssetKeyError):  # the check itself, for code that validates keys
        validate_key(key)


def test_good_keys_and_assets_with_properties_are_accepted() -> None:
    asset = Asset(key="postgres://db/table",
                  properties=AssetProperties(name="Table", owners=["data-team"]))
    assert repr(asset) == "Asset(key='postgres://db/table')"
    assert asset == Asset(key="postgres://db/table")  # identity is the key
    assert hash(asset) == hash(Asset(key="postgres://db/table"))
    with pytest.raises(ValueError, match="2500"):
        AssetProperties(description="x" * 2501)


def test_materialize_needs_an_asset() -> None:
    with pytest.raises(TypeError, match="at least one asset"):
        materialize()


# -- materializing tasks are tasks -----------------------------------------------------------------
def test_a_materializing_task_runs_like_a_task_and_emits_one_success_per_asset(
    events: MemorySink,
) -> None:
    @materialize("s3://b/one.csv", "s3://b/two.csv", by="pandas", retries=1)
    def write_both(x: int) -> int:
        return x + 1

    assert isinstance(write_both, MaterializingTask) and write_both.retries == 1
    assert write_both(1) == 2
    assert _events(events) == [
        (SUCCEEDED, "s3://b/one.csv", ["pandas"], {}),
        (SUCCEEDED, "s3://b/two.csv", ["pandas"], {}),
    ]


def test_a_failing_materialization_emits_the_failed_event(events: MemorySink) -> None:
    @materialize("s3://b/broken.csv")
    def broken() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        broken()
    assert _events(events) == [(FAILED, "s3://b/broken.csv", [], {})]


def test_metadata_is_attached_to_the_materialization_and_merges(events: MemorySink) -> None:
    @materialize("s3://b/data.csv")
    def write() -> None:
        add_asset_metadata("s3://b/data.csv", {"rows": 10})
        Asset(key="s3://b/data.csv").add_metadata({"columns": 3})

    write()
    assert _events(events) == [(SUCCEEDED, "s3://b/data.csv", [], {"rows": 10, "columns": 3})]


def test_metadata_outside_a_materializing_task_or_for_another_asset_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="outside a materializing task run"):
        add_asset_metadata("s3://b/x.csv", {})

    @materialize("s3://b/mine.csv")
    def write() -> None:
        add_asset_metadata("s3://b/other.csv", {"rows": 1})

    with pytest.raises(ValueError, match="arguments to @materialize"):
        write()


def test_with_options_replaces_the_assets_and_keeps_the_rest(events: MemorySink) -> None:
    @materialize("s3://b/default.csv", by="dbt")
    def load() -> int:
        return 1

    other = load.with_options(assets=["s3://b/other.csv"], retries=2)
    assert other.retries == 2 and other.materialized_by == "dbt"
    assert [a.key for a in load.assets] == ["s3://b/default.csv"]
    other()
    assert _events(events) == [(SUCCEEDED, "s3://b/other.csv", ["dbt"], {})]


# -- lineage ---------------------------------------------------------------------------------
@materialize("s3://lake/raw.csv")
def extract() -> list[int]:
    return [1, 2, 3]


@task
def clean(rows: list[int]) -> list[int]:
    return [r * 2 for r in rows]


@materialize("s3://lake/report.csv")
def report(rows: list[int]) -> int:
    return sum(rows)


def test_lineage_flows_through_a_plain_task_between_direct_calls(events: MemorySink) -> None:
    @flow
    def pipeline() -> int:
        return report(clean(extract()))

    assert pipeline() == 12
    assert _upstream_of(events, "s3://lake/report.csv") == {"s3://lake/raw.csv"}
    assert [(n, k) for n, k, _, _ in _events(events)] == [
        (SUCCEEDED, "s3://lake/raw.csv"),
        (REFERENCED, "s3://lake/raw.csv"),
        (SUCCEEDED, "s3://lake/report.csv"),
    ]


def test_lineage_flows_through_futures_and_containers(events: MemorySink) -> None:
    @materialize("s3://lake/other.csv")
    def other() -> list[int]:
        return [4]

    @materialize("s3://lake/combined.csv")
    def combine(parts: dict[str, Any]) -> int:
        return len(parts)

    @flow
    def pipeline() -> int:
        a = extract.submit()
        b = other.submit()
        cleaned = clean.submit(a)
        return combine.submit({"x": [cleaned], "y": (b,)}).result()

    assert pipeline() == 2
    assert _upstream_of(events, "s3://lake/combined.csv") == {
        "s3://lake/raw.csv", "s3://lake/other.csv",
    }


def test_results_passed_inside_a_list_link_their_runs(events: MemorySink) -> None:
    @materialize("s3://lake/joined.csv")
    def join(parts: list[list[int]]) -> int:
        return len(parts)

    @flow
    def pipeline() -> int:
        return join([extract(), [9]])

    pipeline()
    assert _upstream_of(events, "s3://lake/joined.csv") == {"s3://lake/raw.csv"}


def test_asset_deps_add_explicit_upstreams(events: MemorySink) -> None:
    @materialize("s3://lake/enriched.csv",
                 asset_deps=["postgres://db/reference", Asset(key="s3://lake/lookup.csv")])
    def enrich() -> int:
        return 1

    @task(asset_deps=["kafka://topic/events"])
    def passthrough() -> list[int]:
        return [1, 2]

    @materialize("s3://lake/final.csv")
    def final(rows: list[int]) -> int:
        return len(rows)

    @flow
    def pipeline() -> None:
        enrich()
        final(passthrough())

    pipeline()
    assert _upstream_of(events, "s3://lake/enriched.csv") == {
        "postgres://db/reference", "s3://lake/lookup.csv",
    }
    assert _upstream_of(events, "s3://lake/final.csv") == {"kafka://topic/events"}


def test_unrelated_tasks_carry_no_lineage(events: MemorySink) -> None:
    @flow
    def pipeline() -> int:
        extract()
        return report([1, 2])  # a fresh list, not extract's result

    pipeline()
    assert _upstream_of(events, "s3://lake/report.csv") == set()


def test_a_cached_materialization_emits_nothing_again(
    events: MemorySink, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headwater.cache_policies import INPUTS

    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path))

    @materialize("s3://lake/cached.csv", cache_policy=INPUTS)
    def write(x: int) -> int:
        return x

    write(1), write(1)
    assert [n for n, *_ in _events(events)] == [SUCCEEDED]


@pytest.mark.parametrize("runner", [
    lambda: ProcessPoolTaskRunner(max_workers=2),
    lambda: DaskTaskRunner(cluster_kwargs={"n_workers": 1, "processes": False,
                                           "dashboard_address": ":0"}),
], ids=["process", "dask"])
def test_lineage_and_metadata_survive_other_processes(events: MemorySink, runner: Any) -> None:
    @flow(task_runner=runner())
    def pipeline() -> int:
        raw = extract.submit()
        return report.submit(clean.submit(raw)).result()

    assert pipeline() == 12
    assert _upstream_of(events, "s3://lake/report.csv") == {"s3://lake/raw.csv"}
