# behaviour: a task that raises inside a transaction rolls the block back at once, even if the
#   caller catches it
# behaviour: a task returning a Failed state runs its own on_rollback hooks (and rolls back the
#   block)
import contextlib

from prefect import flow, task
from prefect.states import Failed
from prefect.transactions import transaction

log = []

@task
def ok(x):
    return x

@ok.on_rollback
def ok_undo(txn):
    log.append("ok undo")

@ok.on_commit
def ok_commit(txn):
    log.append("ok commit")

@task
def boom():
    raise ValueError("boom")

@boom.on_rollback
def boom_undo(txn):
    log.append("boom undo")

@task
def returns_failed():
    return Failed(message="nope")

@returns_failed.on_rollback
def rf_undo(txn):
    log.append("rf undo")

@flow
def raising_task_caught():
    with transaction() as t:
        ok(1)
        try:
            boom()
        except ValueError:
            log.append("caught")
        ok(2)
    log.append(t.state.name)

@flow
def failed_state_task():
    with transaction() as t:
        ok(1)
        returns_failed()
        log.append("after rf " + t.state.name)
        ok(2)
    log.append(t.state.name)

@flow
def alone():
    returns_failed()
    with contextlib.suppress(ValueError):
        boom()

for f in (raising_task_caught, failed_state_task, alone):
    log.clear()
    f()
    print(f.name, log)
