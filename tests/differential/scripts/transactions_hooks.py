# behaviour: a task's on_commit hook runs right after it completes outside a transaction
# behaviour: inside a transaction, commit hooks run when the block ends
# behaviour: when the block raises, rollback hooks run in reverse order and the error propagates
from prefect import flow, task
from prefect.transactions import transaction

log = []


@task
def write(name):
    log.append(f"write {name}")
    return name


@write.on_commit
def committed(txn):
    log.append("commit")


@write.on_rollback
def rolled_back(txn):
    log.append("rollback")


@flow
def outside():
    write("a")
    log.append("after a")


@flow
def inside():
    with transaction():
        write("b")
        log.append("after b")
    log.append("block done")


@flow
def failing():
    try:
        with transaction():
            write("c")
            write("d")
            raise ValueError("stop")
    except ValueError:
        log.append("caught")


for f in (outside, inside, failing):
    log.clear()
    f()
    print(f.name, log)
