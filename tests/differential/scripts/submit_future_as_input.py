# behaviour: a future passed to another task is resolved to its result
from prefect import flow, task


@task
def one():
    return 1


@task
def inc(x):
    return x + 1


@flow
def f():
    a = one.submit()
    b = inc.submit(a)
    return inc(b)


print(f())
