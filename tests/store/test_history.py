"""The functions the CLI calls: durations, pruning, following logs."""

from __future__ import annotations

import time
from uuid import uuid4

import pytest

from headwater.core.states import Completed, Running
from headwater.errors import ParameterParseError
from headwater.events._rows import BatchBuilder
from headwater.events.records import FlowRunCreated, LogEmitted, StateChanged
from headwater.store import MemoryStore
from headwater.store.history import parse_duration, prune_older_than, run_logs


@pytest.mark.parametrize(("text", "seconds"), [("30d", 30 * 86400), ("12h", 43200),
                                               ("90m", 5400), ("45s", 45), ("2w", 1209600),
                                               ("1.5d", 129600)])
def test_durations_are_a_number_and_a_unit(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_malformed_duration_says_how_to_write_one() -> None:
    with pytest.raises(ParameterParseError, match=r"'30 days' is not a duration.*'30d'"):
        parse_duration("30 days")


def write(store: MemoryStore, *records: object) -> None:
    builder = BatchBuilder(set())
    builder.add_all(records)
    store.write_batch(builder.build(now=time.time()))


def test_prune_older_than_keeps_recent_runs() -> None:
    store, old, new = MemoryStore(), uuid4(), uuid4()
    now = 1_000_000.0
    write(store, FlowRunCreated(old, "a", "f", None, {}, frozenset(), None, None, now - 40 * 86400),
          FlowRunCreated(new, "b", "f", None, {}, frozenset(), None, None, now - 86400),
          StateChanged(old, "flow", Completed(), 1), StateChanged(new, "flow", Completed(), 1))

    result = prune_older_than(store, "30d", now=now)

    assert result.flow_runs == 1
    assert [r.id for r in store.read_flow_runs()] == [new]


def test_following_logs_yields_new_lines_until_the_run_ends() -> None:
    store, run_id = MemoryStore(), uuid4()
    write(store, FlowRunCreated(run_id, "a", "f", None, {}, frozenset(), None, None, time.time()),
          StateChanged(run_id, "flow", Running(), 1),
          LogEmitted(run_id, None, "l", 20, "one", time.time()))
    polls: list[float] = []

    def sleep(seconds: float) -> None:  # the run goes on while the follower waits
        polls.append(seconds)
        if len(polls) == 1:
            write(store, LogEmitted(run_id, None, "l", 20, "two", time.time()))
        else:
            write(store, StateChanged(run_id, "flow", Completed(), 1),
                  LogEmitted(run_id, None, "l", 20, "three", time.time()))

    lines = [line.message for line in run_logs(store, str(run_id), follow=True, sleep=sleep)]

    assert lines == ["one", "two", "three"]
    assert len(polls) == 2
