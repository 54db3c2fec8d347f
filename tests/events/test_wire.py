"""Wire tuples: every record becomes plain values `marshal` can carry, and folds into the same
rows whether it crossed a pipe or not."""

from __future__ import annotations

import marshal
import math
import uuid

import pytest

from headwater.core.states import Completed, Failed, Pending, Running
from headwater.errors import SettingError
from headwater.events import codec
from headwater.events import open_default_sink as _default_sink
from headwater.events._rows import BatchBuilder
from headwater.events.records import (
    DependencyAdded,
    Event,
    FlowRunCreated,
    LogEmitted,
    RunRenamed,
    StateChanged,
    TaskRunCreated,
)

FLOW_ID, TASK_ID, OTHER_ID = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


class Unencodable:
    def __repr__(self) -> str:
        return "<Unencodable thing>"


def every_kind() -> list[object]:
    return [
        FlowRunCreated(FLOW_ID, "brave-otter", "etl", "1.0", {"day": "2026-11-23"},
                       frozenset({"nightly", "b"}), None, None, 1.5),
        TaskRunCreated(TASK_ID, "load-0", "load", "etl.load", FLOW_ID, {"rows": [1, 2]},
                       frozenset(), 2.0),
        StateChanged(TASK_ID, "task", Pending(), 0),
        StateChanged(TASK_ID, "task", Running(), 1),
        StateChanged(TASK_ID, "task", Completed(data={"loaded": 2}), 1),
        StateChanged(FLOW_ID, "flow", Failed(message="bad \"input\"", data=ValueError("x")), 1),
        RunRenamed(TASK_ID, "task", "load-renamed"),
        LogEmitted(FLOW_ID, TASK_ID, "headwater.task_runs", 20, "Finished", 3.0),
        DependencyAdded(TASK_ID, OTHER_ID, "rows"),
        Event("headwater.asset.materialization.succeeded",
              {"headwater.resource.id": "file://out.csv"},
              ({"headwater.resource.id": "file://in.csv",
                "headwater.resource.role": "asset"},),
              {"rows": 2}, FLOW_ID, TASK_ID, 4.0),
    ]


def test_every_record_kind_becomes_plain_values_marshal_can_carry() -> None:
    items = [codec.encode(record) for record in every_kind()]

    assert all(item is not None for item in items)
    assert marshal.loads(marshal.dumps(items)) == items


def test_records_fold_into_the_same_rows_after_crossing_a_pipe() -> None:
    records = every_kind()
    direct = BatchBuilder(set())
    direct.add_all(records)
    crossed = BatchBuilder(set())
    crossed.add_wire(marshal.loads(marshal.dumps([codec.encode(r) for r in records])))

    assert crossed.build() == direct.build()
    batch = direct.build()
    [task_run] = batch.task_runs
    assert task_run["name"] == "load-renamed"
    assert (task_run["state_name"], task_run["result"]) == ("Completed", '{"loaded": 2}')
    assert batch.flow_runs[0]["tags"] == '["b", "nightly"]'
    assert batch.asset_events[0]["asset_key"] == "file://out.csv"
    assert [e["upstream_key"] for e in batch.asset_edges] == ["file://in.csv"]


def test_values_json_cannot_hold_arrive_as_placeholders_and_bad_times_as_zero() -> None:
    record = StateChanged(TASK_ID, "task", Completed(data=Unencodable(), timestamp=math.nan), 1)

    item = codec.encode(record)

    assert item is not None
    kind = codec.KINDS["StateChanged"]
    assert item[codec.position(kind, "state.timestamp")] == 0.0
    assert codec.stamp(item) == 0.0
    assert item[codec.position(kind, "state.data")] == '"<Unencodable thing>"'


def test_objects_that_are_not_records_are_left_out() -> None:
    assert codec.encode("not a record") is None


def test_a_tuple_marshal_cannot_write_costs_only_itself() -> None:
    class Text(str):
        pass

    log = codec.KINDS["LogEmitted"]
    good = (log, None, None, "probe", 20, "fine", 1.0)
    odd = (log, None, None, Text("probe"), 20, "odd", 1.0)

    assert codec.marshallable([good, odd, good]) == [good, good]


def test_an_unknown_writer_setting_names_the_value_and_the_choices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HEADWATER_STORE", raising=False)
    monkeypatch.setenv("HEADWATER_STORE_WRITER", "daemon")

    with pytest.raises(SettingError, match=r"HEADWATER_STORE_WRITER='daemon'.*'process'.*'thread'"):
        _default_sink()
