"""While a top-level flow run runs, the collector's young threshold is raised (to
`HEADWATER_GC_THRESHOLD`, default 10,000); the program's thresholds are back once the last
one ends, and a program's own change made meanwhile is kept."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from headwater import flow, task
from headwater.engine import gc_pacing
from headwater.errors import SettingError


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[tuple[int, ...]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*saved)


@task
def seen() -> tuple[int, ...]:
    return gc.get_threshold()


@flow
def child() -> tuple[int, ...]:
    return gc.get_threshold()


@flow
def parent() -> list[tuple[int, ...]]:
    return [gc.get_threshold(), seen(), seen.submit().result(), child()]


def test_a_flow_run_and_its_tasks_run_at_the_raised_pace_and_the_program_gets_its_back() -> None:
    assert parent() == [(gc_pacing.DEFAULT_THRESHOLD, 10, 10)] * 4
    assert gc.get_threshold() == (700, 10, 10)


def test_the_setting_chooses_the_young_threshold_and_zero_leaves_the_collector_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEADWATER_GC_THRESHOLD", "2500")
    assert parent()[0] == (2500, 10, 10)
    monkeypatch.setenv("HEADWATER_GC_THRESHOLD", "0")
    assert parent()[0] == (700, 10, 10)


def test_a_program_with_a_higher_threshold_keeps_it() -> None:
    gc.set_threshold(50_000, 5, 5)
    assert parent()[0] == (50_000, 5, 5)
    assert gc.get_threshold() == (50_000, 5, 5)


def test_a_threshold_the_program_sets_during_a_run_is_kept_after_it() -> None:
    @flow
    def retunes() -> None:
        gc.set_threshold(1234, 10, 10)

    retunes()
    assert gc.get_threshold() == (1234, 10, 10)


def test_the_thresholds_come_back_only_when_the_last_of_concurrent_flow_runs_ends() -> None:
    first_in, release = threading.Event(), threading.Event()

    @flow
    def long() -> None:
        first_in.set()
        release.wait(60)

    worker = threading.Thread(target=long)
    worker.start()
    try:
        assert first_in.wait(60)
        assert parent()[0][0] == gc_pacing.DEFAULT_THRESHOLD
        assert gc.get_threshold()[0] == gc_pacing.DEFAULT_THRESHOLD  # the other still runs
    finally:
        release.set()
        worker.join(60)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_bad_setting_is_named_and_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_GC_THRESHOLD", "lots")
    with pytest.raises(SettingError, match="HEADWATER_GC_THRESHOLD='lots'"):
        parent()
    monkeypatch.delenv("HEADWATER_GC_THRESHOLD")
    assert gc.get_threshold() == (700, 10, 10)
    assert parent()[0][0] == gc_pacing.DEFAULT_THRESHOLD  # and the count was not left raised


def test_the_thresholds_come_back_when_the_flow_s_end_raises() -> None:
    from headwater.engine.runtime import use_sink
    from headwater.events.base import NullSink

    class Interrupted(NullSink):
        interrupted = False

        def flush(self, timeout: float | None = None) -> None:
            if not self.interrupted:  # Ctrl-C while the run's history is flushed, once
                self.interrupted = True
                raise KeyboardInterrupt

    with use_sink(Interrupted()), pytest.raises(KeyboardInterrupt):
        parent()
    assert gc.get_threshold() == (700, 10, 10)
    assert gc_pacing._running == 0
