# behaviour: a submitted task's future is a PrefectConcurrentFuture, PrefectWrappedFuture,
#   PrefectTaskRunFuture and PrefectFuture (not a PrefectDistributedFuture)
# behaviour: future.wrapped_future is a concurrent.futures.Future of the final State
# behaviour: resolve_futures_to_states / resolve_futures_to_results replace futures in nested
#   collections; a failed future makes resolve_futures_to_results raise
import concurrent.futures
import inspect

from prefect import flow, task
from prefect.futures import (
    PrefectConcurrentFuture,
    PrefectDistributedFuture,
    PrefectFuture,
    PrefectFutureList,
    PrefectTaskRunFuture,
    PrefectWrappedFuture,
    resolve_futures_to_results,
    resolve_futures_to_states,
    wait,
)


@task
def add(x, y=1):
    return x + y


@task
def bad():
    raise KeyError("k")


@flow
def f():
    fut = add.submit(1)
    print(isinstance(fut, PrefectFuture), isinstance(fut, PrefectTaskRunFuture),
          isinstance(fut, PrefectWrappedFuture), isinstance(fut, PrefectConcurrentFuture),
          isinstance(fut, PrefectDistributedFuture))
    w = fut.wrapped_future
    print(isinstance(w, concurrent.futures.Future))
    fut.wait()
    print(w.result().name, w.result().result())
    print(hasattr(fut, "parameters"), hasattr(fut, "task_run_id"), type(fut.task_run_id).__name__)
    b = bad.submit()
    states = resolve_futures_to_states({"a": [fut, b], "c": (fut,)})
    print({k: [s.name for s in v] for k, v in states.items()})
    print(resolve_futures_to_results({"a": [fut], "n": 3}), resolve_futures_to_results(7))
    print(resolve_futures_to_results(add.map([1, 2])))
    try:
        resolve_futures_to_results([b])
    except Exception as e:
        print(type(e).__name__, e)
    futs = add.map([1, 2])
    print(isinstance(futs, PrefectFutureList), isinstance(futs, list))
    print(inspect.isabstract(PrefectFuture), inspect.isabstract(PrefectWrappedFuture))
    r = wait([fut, b])
    print(type(r).__name__, len(r.done), len(r.not_done))


f()
