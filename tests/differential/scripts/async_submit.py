# behaviour: an async task submitted from a sync flow returns its value through the future
from prefect import flow, task


@task
async def fetch(x):
    return x * 2


@flow
def f():
    return fetch.submit(4).result()


print(f())
