# behaviour: inside a task, get_transaction() is the task run's own transaction (active, keyed, not
#   writing unpersisted results)
# behaviour: a task inside `with transaction()` is a child of it (also when submitted) and reads
#   its values
# behaviour: a persisted task's transaction writes on commit, so the next identical call is Cached
from prefect import flow, task
from prefect.transactions import get_transaction, transaction


@task
def show(x):
    txn = get_transaction()
    print("in task:", type(txn).__name__, txn.state.name, txn.key is not None,
          type(txn.store).__name__, txn.write_on_commit, txn.commit_mode, txn.isolation_level,
          txn.overwrite)
    p = txn.get_parent()
    print("parent:", None if p is None else p.key)
    print("get x:", txn.get("x", "default"))
    return x

@task(persist_result=True)
def persisted(x):
    txn = get_transaction()
    print("persisted:", txn.state.name, txn.key is not None, txn.write_on_commit)
    return x

@flow
def f():
    print("flow level:", get_transaction())
    show(1)
    with transaction(key="outer") as outer:
        outer.set("x", 42)
        show(2)
        fut = show.submit(3)
        fut.result()
        print("outer children:", len(outer.children), [c.state.name for c in outer.children])
    print("outer after:", outer.state.name, [c.state.name for c in outer.children])
    persisted(5)
    s = persisted(5, return_state=True)
    print(s.name)

f()
show(9)
