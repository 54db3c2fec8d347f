"""The batch writer: records a full spill could not keep are counted, and the flow runs they
belonged to say so in their logs."""

from __future__ import annotations

import logging
from uuid import uuid4

import pytest

from headwater.core.states import Completed, Running
from headwater.events import _spill, codec
from headwater.events._writer import BatchWriter
from headwater.events.records import FlowRunCreated, LogEmitted, StateChanged, TaskRunCreated
from headwater.store.memory import MemoryStore


def test_records_a_full_spill_loses_are_logged_on_the_flow_runs_they_belonged_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a flow run stored, and a spill that can keep nothing more
    monkeypatch.setattr(_spill, "HARD_MEMORY_LIMIT", 0)
    store, flow, task = MemoryStore(), uuid4(), uuid4()
    writer = BatchWriter(store, crash_after_seconds=3600, report=lambda level, text: None)
    writer.write([codec.encode(FlowRunCreated(flow, "r", "f", None, {}, frozenset(), None,
                                              None, 1.0)),
                  codec.encode(StateChanged(flow, "flow", Running(timestamp=1.0), 1))])
    writer.spill.memory_limit = 0

    # When records of that flow run (its state, a task run's log) cannot be kept
    writer.spill.put([codec.encode(StateChanged(flow, "flow", Completed(timestamp=2.0), 1)),
                      codec.encode(TaskRunCreated(task, "t-0", "t", "m.t", flow, {},
                                                  frozenset(), 2.0)),
                      codec.encode(LogEmitted(None, task, "user", logging.INFO, "x", 2.0))])
    writer._store_loss(writer.spill.lost)

    # Then the flow run's logs say how many were lost
    [line] = store.read_logs(flow)
    assert line.logger == "headwater.store" and line.level == logging.ERROR
    assert line.message.startswith("headwater lost 3 records of runs")
