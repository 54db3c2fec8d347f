"""The wire codec is generated from the record types: every field of every record travels,
under its own name, and comes back as the plain value of what was recorded."""

from __future__ import annotations

import dataclasses
import json
import marshal
import typing
import uuid
from collections import deque
from typing import Any

import pytest

from headwater.core.states import Completed, Failed, Pending, Running
from headwater.errors import HeadwaterError
from headwater.events import codec
from headwater.events._json import encode_dict, encode_json
from headwater.events.records import (
    DependencyAdded,
    Event,
    FlowRunCreated,
    LogEmitted,
    Record,
    RunRenamed,
    StateChanged,
    TaskRunCreated,
)
from headwater.store.batch_builder import READS, WireReader

A, B, C = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

# One record of each type, every field set to something other than its default.
SAMPLES: list[Any] = [
    FlowRunCreated(A, "otter", "etl", "1.0", {"day": 1}, frozenset({"z", "a"}), B, C, 1.5,
                   "etl#2", "flows.py:etl"),
    TaskRunCreated(B, "load-0", "load", "etl.load", A, {"rows": [1]}, frozenset({"x"}), 2.5,
                   "3.1"),
    StateChanged(B, "task", Completed(data={"n": 2}, message="ok", timestamp=3.5), 2),
    RunRenamed(A, "flow", "renamed"),
    LogEmitted(A, B, "user", 30, "careful", 4.5),
    DependencyAdded(B, C, "rows"),
    Event("asset.made", {"id": "f://x"}, ({"id": "f://y"},), {"n": 1}, A, B, 5.5),
]


def decoded(item: tuple[Any, ...]) -> dict[str, Any]:
    """A wire tuple as {value name: value}, by its kind's layout."""
    _, names = codec.LAYOUTS[item[0]]
    return dict(zip(names, item[1:], strict=True))


def plain(value: Any) -> Any:
    """What a recorded value becomes on the wire."""
    if isinstance(value, uuid.UUID):
        return value.int
    if isinstance(value, (dict, tuple)):
        return json.loads(json.dumps(list(value) if isinstance(value, tuple) else value))
    if isinstance(value, frozenset):
        return tuple(sorted(value))
    return value


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_every_field_of_every_record_type_round_trips_under_its_own_name(record: Any) -> None:
    item = codec.encode(record)
    assert item is not None
    values = decoded(marshal.loads(marshal.dumps(item)))

    for name, _ in codec.record_fields(type(record)):
        value = getattr(record, name)
        if name == "state":
            assert values["state.type"] == value.type.value
            assert (values["state.name"], values["state.message"]) == (value.name, value.message)
            assert values["state.timestamp"] == value.timestamp_s
            assert json.loads(values["state.data"]) == value.data
        elif name in ("parameters", "resource", "related", "payload"):
            assert json.loads(values[name]) == plain(value)
        else:
            assert values[name] == plain(value), name


def test_every_record_type_has_a_kind_and_the_store_reads_each_one() -> None:
    assert set(codec.RECORD_TYPES) == set(typing.get_args(Record))
    assert [codec.KINDS[cls.__name__] for cls in codec.RECORD_TYPES] == list(range(7))
    assert set(WireReader(codec.LAYOUTS).getters) == set(codec.LAYOUTS)
    assert set(READS) == {cls.__name__ for cls in codec.RECORD_TYPES}


def test_a_state_without_data_or_not_final_carries_no_data() -> None:
    running = codec.encode(StateChanged(A, "flow", Running(), 1))
    failed = codec.encode(StateChanged(A, "flow", Failed(message="x"), 1))

    assert running is not None and decoded(running)["state.data"] is None
    assert failed is not None and decoded(failed)["state.data"] is None


def test_a_record_type_whose_field_the_codec_cannot_encode_is_refused_by_name() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Odd:
        run_id: uuid.UUID
        when: complex

    with pytest.raises(HeadwaterError, match=r"Odd\.when is annotated 'complex'.*_CONVERSIONS"):
        codec._generate(99, Odd)


def test_a_record_type_of_another_kind_gets_a_codec_from_its_annotations_too() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Kept:
        run_id: uuid.UUID
        when: float

    names, encode = codec._generate(41, Kept)

    assert names == ("run_id", "when")
    assert encode(Kept(A, float("nan"))) == (41, A.int, 0.0)


def test_a_plain_slotted_record_class_gets_a_codec_from_its_annotations() -> None:
    class Cheap:
        __slots__ = ("name", "run_id")
        run_id: uuid.UUID
        name: str

        def __init__(self, run_id: uuid.UUID, name: str) -> None:
            self.run_id, self.name = run_id, name

    names, encode = codec._generate(42, Cheap)

    assert names == ("run_id", "name")
    assert encode(Cheap(A, "n")) == (42, A.int, "n")


def test_the_store_refuses_a_layout_without_a_value_it_reads() -> None:
    layouts = {0: ("LogEmitted", ("flow_run_id", "logger"))}

    with pytest.raises(HeadwaterError, match=r"'LogEmitted'.*without \['task_run_id'"):
        WireReader(layouts)


@pytest.mark.parametrize("value", [
    {"x": 1}, {"s": "é \"q\""}, {"s": "b" * 2000}, {"b": True},
    {"a": "é \"q\"", "b": None, "c": True, "d": False, "e": -5}, {1: 2}, {"x": 1.5},
    {"x": [1]}, {"x": "a" * 70_000}, {f"k{i}": i for i in range(12)}, {"n": float("nan")},
])
def test_the_quick_dict_encoding_writes_what_the_general_one_writes(value: Any) -> None:
    assert encode_dict(value) == encode_json(value)


# -- the store sink's emit: the same tuples, failures queued, others ignored --------------------
class Unencodable:
    def __repr__(self) -> str:
        return "<Unencodable thing>"


class Failure:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc


EMITTED: list[Any] = [
    FlowRunCreated(A, "otter", "etl", None, {"day": 1}, frozenset({"z", "a"}), None, None, 1.5),
    TaskRunCreated(B, "load-0", "load", "etl.load", A, {"n": 1, "s": "é", "o": None, "b": True},
                   frozenset(), 2.5, 3),
    TaskRunCreated(B, "load-1", "load", "etl.load", None, {}, frozenset({"x"}), float("nan"),
                   "3.1"),
    StateChanged(B, "task", Pending(), 0),
    StateChanged(B, "task", Running(), 1),
    StateChanged(B, "task", Completed(data=7), 1),
    StateChanged(B, "task", Completed(data={"rows": [1, 2]}), True),
    StateChanged(B, "task", Completed(), 1),
    StateChanged(A, "flow", Failed(message="bad", data=ValueError("x")), 1),
    StateChanged(A, "flow", Completed(data=Unencodable()), 1),
    RunRenamed(B, "task", "renamed"),
    LogEmitted(A, B, "user", 30, "careful", 4.5),
    DependencyAdded(B, A, None),
    Event("asset.made", {"id": "f://x"}, ({"id": "f://y"},), {"n": 1}, A, B, 5.5),
]


def sink_emit(queue: deque[Any], calls: list[str], hand_off_at: int = 1 << 30) -> Any:
    return codec.make_emit(
        queue, hand_off_at=hand_off_at, hand_off=lambda: calls.append("hand off"),
        flow_run_created=lambda r: calls.append(f"created {r.name}"), failure=Failure)


def test_emit_queues_the_tuples_the_codec_makes_for_every_record_type() -> None:
    queue: deque[Any] = deque()
    calls: list[str] = []
    emit = sink_emit(queue, calls)

    for record in EMITTED:
        emit(record)

    assert list(queue) == [codec.encode(record) for record in EMITTED]
    assert calls == ["created otter"]


def test_a_record_that_cannot_be_encoded_is_queued_as_a_failure_and_others_are_ignored() -> None:
    class Broken(str):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    queue: deque[Any] = deque()
    emit = sink_emit(queue, [])

    emit(RunRenamed(B, "task", Broken("x")))
    emit("not a record")
    emit(RunRenamed(B, "task", "fine"))

    assert [type(item) for item in queue] == [Failure, tuple]
    assert "no text" in str(queue[0].exc)


def test_the_record_that_makes_the_queue_long_enough_hands_it_off() -> None:
    queue: deque[Any] = deque()
    calls: list[str] = []
    emit = sink_emit(queue, calls, hand_off_at=3)

    for index in range(4):
        emit(RunRenamed(B, "task", f"n{index}"))

    assert calls == ["hand off", "hand off"]


def test_an_int_too_long_for_decimal_text_is_stored_as_a_placeholder_not_lost() -> None:
    # Python refuses str() of an int over 4,300 digits: the record keeps everything else.
    from uuid import uuid4

    from headwater.core.states import StateType, run_state
    from headwater.events.records import StateChanged, TaskRunCreated

    huge = 10**5000
    created = codec.encode(TaskRunCreated(uuid4(), "t-1", "t", "m.t", uuid4(), {"x": huge},
                                          frozenset(), 1.0, 1))
    completed = codec.encode(StateChanged(uuid4(), "task", run_state(
        StateType.COMPLETED, "Completed", None, None, huge), 1))
    assert created is not None and completed is not None
    layout = codec.LAYOUTS
    assert created[codec.position(created[0], "parameters")].startswith('"<unrepresentable')
    assert completed[codec.position(completed[0], "state.data")].startswith('"<unrepresentable')
    assert layout[created[0]][0] == "TaskRunCreated"
