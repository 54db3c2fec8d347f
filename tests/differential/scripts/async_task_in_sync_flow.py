# behaviour: an async task called directly in a sync flow returns a coroutine
import asyncio
import inspect

from prefect import flow, task


@task
async def fetch():
    return 5


@flow
def f():
    value = fetch()
    print(inspect.iscoroutine(value))
    return asyncio.run(value) if inspect.iscoroutine(value) else value


print(f())
