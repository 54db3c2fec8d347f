# behaviour: a transaction opened in a task body is a child of the task's transaction; commit hooks
#   run before on_completion hooks, which see no transaction
from prefect import flow, task
from prefect.transactions import get_transaction, transaction

log = []

def on_done(tk, run, state):
    log.append(f"completion txn={get_transaction() is not None}")

@task(on_completion=[on_done])
def t(x):
    with transaction() as inner:
        log.append(f"inner parent is task txn: {inner.get_parent() is not None}")
    log.append(f"inner after: {inner.state.name}")
    return x

@t.on_commit
def c(txn):
    log.append(f"commit {txn.state.name} {[ch.state.name for ch in txn.children]}")

@flow
def f():
    t(1)
    log.append("flow")

f()
print(log)
