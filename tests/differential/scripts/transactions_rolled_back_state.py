# behaviour: tasks rolled back with their block keep their Completed state in memory (RolledBack is
#   recorded in the run history)
# behaviour: rollback hooks of staged tasks run in reverse order, each seeing its transaction STAGED
from prefect import flow, task
from prefect.transactions import transaction

log = []


@task
def write(name):
    return name


@write.on_rollback
def undo(txn):
    log.append(("undo", txn.state.name))


@flow
def f():
    try:
        with transaction():
            s = write("a", return_state=True)
            fut = write.submit("b")
            fut.wait()
            raise ValueError("stop")
    except ValueError:
        print("after rollback:", s.name, s.type.name, fut.state.name)
    return 1


print(f())
print(log)
