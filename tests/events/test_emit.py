"""The store sink's generated `emit` queues exactly the tuples the codec makes, reports what it
cannot encode through the queue, ignores what is not a record, and hands a long queue off."""

from __future__ import annotations

import uuid
from collections import deque
from typing import Any

from headwater.core.states import Completed, Failed, Pending, Running
from headwater.events import codec
from headwater.events._emit import make_emit
from headwater.events.records import (
    DependencyAdded,
    Event,
    FlowRunCreated,
    LogEmitted,
    RunRenamed,
    StateChanged,
    TaskRunCreated,
)

A, B = uuid.uuid4(), uuid.uuid4()


class Unencodable:
    def __repr__(self) -> str:
        return "<Unencodable thing>"


class Failure:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc


RECORDS: list[Any] = [
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
    return make_emit(queue, hand_off_at=hand_off_at, hand_off=lambda: calls.append("hand off"),
                     flow_run_created=lambda r: calls.append(f"created {r.name}"),
                     failure=Failure)


def test_emit_queues_the_tuples_the_codec_makes_for_every_record_type() -> None:
    queue: deque[Any] = deque()
    calls: list[str] = []
    emit = sink_emit(queue, calls)

    for record in RECORDS:
        emit(record)

    assert list(queue) == [codec.encode(record) for record in RECORDS]
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
