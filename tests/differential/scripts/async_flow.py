# behaviour: an async flow awaiting async tasks returns their values
import asyncio

from prefect import flow, task


@task
async def fetch(x):
    await asyncio.sleep(0)
    return x + 1


@flow
async def main():
    values = await asyncio.gather(fetch(1), fetch(2))
    return list(values)


print(asyncio.run(main()))
