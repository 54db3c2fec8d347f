# behaviour: an async subflow called in a sync flow returns a coroutine, run with asyncio.run
# behaviour: a sync flow that returns an async subflow's coroutine returns the subflow's value
import asyncio
import inspect

from prefect import flow


@flow
async def child(x):
    await asyncio.sleep(0)
    return x * 2


@flow
def awaits_it():
    pending = child(1)
    print(inspect.iscoroutine(pending))
    return asyncio.run(pending)


@flow
def returns_it():
    return child(21)


print(awaits_it())
print(returns_it())
