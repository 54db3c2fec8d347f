"""`PendingRuns`: what a flow run waits for before it ends. It counts the runs it was given,
keeps no finished one alive, and waits for runs added while it waits."""

from __future__ import annotations

import concurrent.futures as cf
import gc
import threading
import weakref
from typing import Any

from headwater import flow, task
from headwater.core.futures import PendingRuns

NEVER = 60.0  # only stops a hang


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


def test_a_run_added_while_a_flow_waits_is_waited_for_too() -> None:
    pending = PendingRuns()
    first, later = cf.Future(), cf.Future()  # type: ignore[var-annotated]
    pending.add(first)
    waiter = pending.all_done()
    pending.add(later)  # a running task submits another
    first.set_result(None)
    assert not waiter.done()
    later.set_result(None)
    assert waiter.done()


def test_runs_added_from_many_threads_are_all_waited_for() -> None:
    pending = PendingRuns()
    futures: list[cf.Future[Any]] = [cf.Future() for _ in range(8 * 3000)]

    def add(part: list[cf.Future[Any]]) -> None:
        for index, future in enumerate(part):
            if index % 2:
                future.set_result(None)
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


class Big:
    """A result the test can watch."""


def test_a_finished_run_whose_future_was_dropped_is_not_kept() -> None:
    pending = PendingRuns()
    results: list[weakref.ref[Big]] = []
    for _ in range(5):
        future: cf.Future[Big] = cf.Future()
        pending.add(future)
        result = Big()
        results.append(weakref.ref(result))
        future.set_result(result)
        del future, result  # the flow dropped it: nothing else holds the result
    gc.collect()
    assert [ref() for ref in results] == [None] * 5
    assert pending.count == 0


def test_a_flow_ends_after_the_runs_its_tasks_submitted_without_waiting() -> None:
    order: list[str] = []
    release = threading.Event()

    @task
    def child() -> None:
        release.wait(NEVER)
        order.append("child")

    @task
    def parent() -> None:
        child.submit()  # not waited for by the task
        order.append("parent")

    @flow
    def f() -> None:
        parent.submit().wait()
        release.set()

    f()
    order.append("flow returned")
    assert order == ["parent", "child", "flow returned"]
