"""`PendingRuns`: what a flow run waits for before it ends. It keeps the futures it was given
and drops the finished ones as it grows, so a flow that submits many runs and drops their
futures does not keep them all."""

from __future__ import annotations

import concurrent.futures as cf
import threading
from typing import Any

from headwater import flow, task
from headwater.core.futures import _FIRST_PRUNE, PendingRuns


def test_nothing_added_is_all_done_at_once() -> None:
    pending = PendingRuns()
    assert pending.count == 0
    assert pending.all_done().done()


def test_all_done_completes_when_the_last_unfinished_run_finishes() -> None:
    pending = PendingRuns()
    first, second, finished = cf.Future(), cf.Future(), cf.Future()  # type: ignore[var-annotated]
    finished.set_result(None)
    for future in (first, finished, second):
        pending.add(future)
    assert pending.count == 2
    waiter = pending.all_done()
    first.set_result(None)
    assert not waiter.done()
    second.set_result(None)
    assert waiter.done() and pending.count == 0


def test_finished_runs_are_dropped_as_the_list_grows() -> None:
    pending = PendingRuns()
    running = cf.Future()  # type: ignore[var-annotated]
    pending.add(running)
    for _ in range(10 * _FIRST_PRUNE):
        done = cf.Future()  # type: ignore[var-annotated]
        done.set_result(None)
        pending.add(done)
    assert len(pending._futures) < 2 * _FIRST_PRUNE  # not the 10,241 it was given
    assert pending.count == 1
    running.set_result(None)
    assert pending.all_done().done()


def test_runs_added_from_many_threads_are_all_waited_for() -> None:
    pending = PendingRuns()
    futures: list[cf.Future[Any]] = [cf.Future() for _ in range(8 * 3000)]

    def add(part: list[cf.Future[Any]]) -> None:
        for index, future in enumerate(part):
            if index % 2:
                future.set_result(None)  # half finish at once: pruning runs meanwhile
            pending.add(future)

    threads = [threading.Thread(target=add, args=(futures[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    unfinished = [f for f in futures if not f.done()]
    assert pending.count == len(unfinished) == 12000
    waiter = pending.all_done()
    for future in unfinished[:-1]:
        future.set_result(None)
    assert not waiter.done()
    unfinished[-1].set_result(None)
    assert waiter.done()


def test_a_flow_waits_for_runs_it_submitted_and_never_looked_at() -> None:
    finished: list[int] = []
    gate = threading.Event()

    @task
    def slow(i: int) -> None:
        gate.wait(30)
        finished.append(i)

    @flow
    def f() -> None:
        for i in range(3 * _FIRST_PRUNE):
            slow.submit(i)  # futures dropped
        gate.set()

    f()
    assert sorted(finished) == list(range(3 * _FIRST_PRUNE))
