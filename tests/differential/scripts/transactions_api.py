# behaviour: transaction() yields a Transaction whose state, values and nesting work as in Prefect
# behaviour: commit modes: EAGER commits at block end, OFF rolls back at top level
from prefect.transactions import (
    CommitMode,
    Transaction,
    TransactionState,
    get_transaction,
    transaction,
)

print(get_transaction())
with transaction(key="outer") as outer:
    print(isinstance(outer, Transaction), outer.state.name, get_transaction() is outer)
    outer.set("x", [1])
    with transaction(key="inner") as inner:
        print(inner.get("x"), inner.get("missing", "d"), inner.get_parent() is outer)
        print(inner.commit_mode.name)
    print(inner.state.name)
    try:
        outer.get("nope")
    except ValueError:
        print("ValueError")
print(outer.state.name, inner.state.name)

with transaction(commit_mode=CommitMode.OFF) as off:
    pass
print(off.state.name)
with transaction() as parent:
    with transaction(commit_mode=CommitMode.EAGER) as eager:
        pass
    print(eager.state.name, parent.state.name)
print(sorted(s.name for s in TransactionState))
