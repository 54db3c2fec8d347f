# behaviour: an async subflow's failure raises in the sync parent that runs its coroutine
import asyncio

from prefect import flow


@flow
async def child():
    raise KeyError("async child")


@flow
def parent():
    asyncio.run(child())


try:
    parent()
except KeyError as exc:
    print("KeyError", exc)
