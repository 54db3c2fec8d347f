# behaviour: a keyed transaction writes its staged value on commit; a later one with the key starts
#   COMMITTED and read().result is that value
# behaviour: overwrite=True starts ACTIVE and replaces the record; write_on_commit=False writes
#   nothing
# behaviour: an unkeyed transaction has no store; a rolled-back keyed one writes nothing
from prefect.transactions import transaction

with transaction(key="idem-1") as t1:
    print("t1:", t1.state.name, type(t1.store).__name__, t1.write_on_commit)
    t1.stage({"rows": 3})
    print("t1 staged:", t1.state.name)
print("t1 after:", t1.state.name)

with transaction(key="idem-1") as t2:
    print("t2:", t2.state.name, t2.is_committed())
    rec = t2.read()
    print("t2 read:", rec.result)
    t2.stage("ignored")
    print("t2 staged:", t2.state.name)
print("t2 after:", t2.state.name)

with transaction(key="idem-1", overwrite=True) as t3:
    print("t3:", t3.state.name)
    t3.stage("new")
with transaction(key="idem-1") as t4:
    print("t4 read:", t4.read().result)

with transaction(key="never-staged") as t5:
    pass
with transaction(key="never-staged") as t6:
    print("t6:", t6.state.name, t6.read().result)

with transaction(key="nowrite", write_on_commit=False) as t7:
    t7.stage(1)
with transaction(key="nowrite") as t8:
    print("t8:", t8.state.name)
    try:
        t8.read()
    except Exception as e:
        print("t8 read:", type(e).__name__)

with transaction() as t9:
    print("t9:", t9.key, t9.store, t9.read())
    t9.stage(5)
print("t9 after:", t9.state.name, t9.read())

try:
    with transaction(key="fail-1") as t10:
        t10.stage(1)
        raise ValueError("x")
except ValueError:
    pass
with transaction(key="fail-1") as t11:
    print("t11:", t11.state.name)
