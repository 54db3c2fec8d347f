# behaviour: PrefectFutureList.result() returns all results; wait() waits for all
from prefect import flow, task


@task
def t(x):
    return x + 100


@flow
def f():
    futures = t.map(range(3))
    futures.wait()
    return futures.result(), all(fut.state.is_completed() for fut in futures)


print(f())
