# behaviour: async tasks and atransaction(): the task run's transaction nests in the block, reads
#   its values, and commits or rolls back with it
import asyncio

from prefect import flow, task
from prefect.transactions import atransaction, get_transaction, transaction

log = []


@task
async def save(x):
    txn = get_transaction()
    log.append(("in task", txn.state.name, txn.get_parent() is not None, txn.get("k", None)))
    return x


@save.on_commit
def committed(txn):
    log.append(("commit", txn.state.name))


@save.on_rollback
def undone(txn):
    log.append(("rollback", txn.state.name))


@flow
async def f():
    async with atransaction() as outer:
        outer.set("k", "v")
        await save(1)
        log.append(("block", outer.state.name))
    log.append(("after", outer.state.name))
    try:
        async with atransaction():
            await save(2)
            raise ValueError("x")
    except ValueError:
        log.append("caught")
    with transaction():
        await save(3)
    await save(4)


asyncio.run(f())
for line in log:
    print(line)
