# behaviour: an async flow with return_state=True gives a state
import asyncio

from prefect import flow


@flow
async def f():
    return 3


state = asyncio.run(f(return_state=True))
print(state.name, state.result())
