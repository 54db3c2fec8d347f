# behaviour: as_completed yields every future once
from prefect import flow, task
from prefect.futures import as_completed


@task
def t(x):
    return x * x


@flow
def f():
    futures = [t.submit(i) for i in range(5)]
    return sorted(fut.result() for fut in as_completed(futures))


print(f())
