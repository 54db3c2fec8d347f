# behaviour: State.result() called inside a running event loop returns an awaitable
# behaviour: State.result() in sync code returns the value
import asyncio
import inspect

from prefect import flow, task
from prefect.states import Completed


@task
async def t():
    return 5


@flow
async def f():
    state = await t(return_state=True)
    pending = state.result()
    print("in flow:", inspect.isawaitable(pending), await pending)
    made = Completed(data=3).result()
    print("hand-made:", inspect.isawaitable(made), await made)


async def plain():
    pending = Completed(data=4).result()
    print("plain coroutine:", inspect.isawaitable(pending), await pending)


asyncio.run(f())
asyncio.run(plain())
print("sync:", Completed(data=2).result())
