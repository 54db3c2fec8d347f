"""The lean worker pool behind ThreadPoolTaskRunner keeps ThreadPoolExecutor's promises."""

from __future__ import annotations

import concurrent.futures as cf
import threading

import pytest

from headwater.runners._pool import WorkerPool

NEVER = 600  # only stops a hang


def test_a_submitted_call_runs_in_a_named_worker_and_its_value_reaches_the_future() -> None:
    pool = WorkerPool(2, "worker")
    future = pool.submit(lambda a, b: (a + b, threading.current_thread().name), 2, 3)
    assert future.result(NEVER) == (5, "worker_0")
    pool.shutdown()


def test_an_exception_reaches_the_future_and_the_worker_goes_on() -> None:
    pool = WorkerPool(1, "worker")

    def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        pool.submit(boom).result(NEVER)
    assert pool.submit(lambda: 7).result(NEVER) == 7
    pool.shutdown()


def test_an_idle_worker_is_reused_rather_than_a_thread_started() -> None:
    pool = WorkerPool(8, "worker")
    for i in range(20):
        assert pool.submit(lambda i=i: i).result(NEVER) == i
    assert len(pool._threads) == 1
    pool.shutdown()


def test_runs_that_block_each_get_a_worker_up_to_the_bound() -> None:
    pool = WorkerPool(3, "worker")
    release = threading.Event()
    started = threading.Barrier(4)

    def blocked() -> str:
        started.wait(NEVER)
        release.wait(NEVER)
        return threading.current_thread().name

    futures = [pool.submit(blocked) for _ in range(3)]
    started.wait(NEVER)  # three runs are inside `blocked` at once: three workers
    extra = pool.submit(lambda: "queued")
    assert not extra.done()
    release.set()
    assert sorted(f.result(NEVER) for f in futures) == ["worker_0", "worker_1", "worker_2"]
    assert extra.result(NEVER) == "queued"
    assert len(pool._threads) == 3
    pool.shutdown()


def test_shutdown_with_cancel_cancels_the_runs_that_have_not_started() -> None:
    pool = WorkerPool(1, "worker")
    release, began = threading.Event(), threading.Event()

    def run() -> bool:
        began.set()
        return release.wait(NEVER)

    running = pool.submit(run)
    began.wait(NEVER)  # started: not among the runs a shutdown cancels
    waiting = [pool.submit(lambda: 1) for _ in range(5)]
    stopper = threading.Thread(target=pool.shutdown, kwargs={"cancel_futures": True})
    stopper.start()
    cf.wait(waiting, timeout=NEVER)
    release.set()
    stopper.join(NEVER)
    assert running.result(NEVER) is True
    assert all(f.cancelled() for f in waiting)


def test_shutdown_waits_for_queued_runs_and_then_refuses_new_ones() -> None:
    pool = WorkerPool(2, "worker")
    futures = [pool.submit(lambda i=i: i * i) for i in range(50)]
    pool.shutdown(wait=True)
    assert [f.result(0) for f in futures] == [i * i for i in range(50)]
    assert pool._working == 0  # every worker has left the pool (its thread parks)
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(lambda: None)


def test_a_waiter_is_not_woken_into_a_wrong_answer_by_another_future_of_the_pool() -> None:
    pool = WorkerPool(2, "worker")
    release = threading.Event()
    slow = pool.submit(release.wait, NEVER)
    waiter_saw: list[object] = []
    waiter = threading.Thread(target=lambda: waiter_saw.append(slow.result(NEVER)))
    waiter.start()
    # Many other futures of the same pool complete (each notifies the shared condition) while
    # the waiter sleeps on it: it must go back to sleep each time, not return or time out.
    for i in range(200):
        assert pool.submit(lambda i=i: i).result(NEVER) == i
    assert waiter.is_alive() and not waiter_saw
    release.set()
    waiter.join(NEVER)
    assert waiter_saw == [True]
    pool.shutdown()


def test_a_result_that_does_not_come_in_time_raises_timeout_error() -> None:
    pool = WorkerPool(1, "worker")
    release = threading.Event()
    slow = pool.submit(release.wait, NEVER)
    with pytest.raises(TimeoutError):
        slow.result(timeout=0.01)
    with pytest.raises(TimeoutError):
        slow.exception(timeout=0.01)
    release.set()
    assert slow.result(NEVER) is True and slow.exception(NEVER) is None
    pool.shutdown()


def test_pool_futures_work_with_wait_as_completed_and_asyncio() -> None:
    import asyncio

    pool = WorkerPool(4, "worker")
    futures = [pool.submit(lambda i=i: i * 2) for i in range(50)]
    done, not_done = cf.wait(futures, timeout=NEVER)
    assert len(done) == 50 and not not_done
    assert sorted(f.result() for f in cf.as_completed(futures, timeout=NEVER)) == list(
        range(0, 100, 2))

    async def awaited() -> int:
        value: int = await asyncio.wrap_future(pool.submit(lambda: 41)) + 1
        return value

    assert asyncio.run(awaited()) == 42
    pool.shutdown()


def test_a_callback_added_before_or_after_completion_runs_exactly_once() -> None:
    pool = WorkerPool(1, "worker")
    release = threading.Event()
    future = pool.submit(release.wait, NEVER)
    calls: list[str] = []
    ran = threading.Event()
    future.add_done_callback(lambda f: (calls.append("before"), ran.set()))
    release.set()
    assert ran.wait(NEVER)  # it runs in the worker, once the future is done
    future.add_done_callback(lambda f: calls.append("after"))  # runs here, at once
    assert calls == ["before", "after"]
    pool.shutdown()


def test_a_pool_future_has_every_attribute_a_plain_future_has() -> None:
    # PoolFuture skips Future.__init__ (to share the condition): a Python whose Future sets
    # more in __init__ must make this fail rather than break futures at run time.
    from headwater.runners._pool import PoolFuture

    future = PoolFuture(threading.Condition())
    assert set(vars(cf.Future())) <= set(vars(future)) | {"_waiters"}
    assert future._waiters == [] and future._waiters is future._waiters  # made when first asked


def test_a_pool_future_tells_wait_and_as_completed_when_it_is_done() -> None:
    # Its waiter list is made only when `wait` or `as_completed` installs a waiter.
    pool = WorkerPool(2, "test")
    release = threading.Event()
    slow = pool.submit(release.wait, NEVER)
    fast = pool.submit(lambda: 1)
    done, _ = cf.wait([slow, fast], return_when=cf.FIRST_COMPLETED, timeout=NEVER)
    assert fast in done
    release.set()
    assert list(cf.as_completed([slow], timeout=NEVER)) == [slow]
    assert cf.wait([slow, fast], timeout=NEVER).not_done == set()
    pool.shutdown()


def test_the_next_pool_adopts_the_threads_a_shut_down_pool_released() -> None:
    import time

    from headwater.runners import _reservoir

    first = WorkerPool(3, "first")
    release = threading.Event()
    started = threading.Barrier(4)

    def blocked() -> None:
        started.wait(NEVER)
        release.wait(NEVER)

    for _ in range(3):
        first.submit(blocked)
    started.wait(NEVER)
    release.set()
    first.shutdown(wait=True)
    deadline = time.monotonic() + NEVER
    while _reservoir.parked() < 3 and time.monotonic() < deadline:  # they park just after
        time.sleep(0.001)
    threads_before = threading.active_count()

    second = WorkerPool(3, "second")
    name = second.submit(lambda: threading.current_thread().name).result(NEVER)
    second.shutdown(wait=True)
    assert name == "second_0"  # renamed for the pool that adopted it
    assert threading.active_count() == threads_before  # no new thread was started


def test_shutdown_waiting_from_one_of_its_own_workers_is_refused_and_still_stops_it() -> None:
    pool = WorkerPool(2, "worker")
    stopped = pool.submit(lambda: pool.shutdown(wait=True))
    with pytest.raises(RuntimeError, match="cannot wait"):
        stopped.result(NEVER)  # as ThreadPoolExecutor's join of itself would
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(lambda: None)


def test_a_worker_that_cannot_start_leaves_no_worker_to_wait_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from headwater.runners import _reservoir

    def refuse(entry: object, name: str) -> None:
        raise RuntimeError("can't start new thread")

    pool = WorkerPool(2, "worker")
    monkeypatch.setattr(_reservoir, "start", refuse)
    with pytest.raises(RuntimeError, match="can't start"):
        pool.submit(lambda: 1)
    monkeypatch.undo()
    pool.shutdown(wait=True)  # returns: nothing to wait for
    assert pool._working == 0


def test_a_forked_child_shuts_its_copy_of_a_pool_down_without_waiting_for_its_parent_s_workers(
) -> None:
    import os

    pool = WorkerPool(2, "worker")
    assert pool.submit(lambda: 1).result(NEVER) == 1
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        try:
            pool.shutdown(wait=True)
        finally:
            os._exit(0)
    _, status = os.waitpid(child, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    pool.shutdown(wait=True)
