# behaviour: with persisted results, the INPUTS policy caches the second call of same inputs
# env: PREFECT_HOME={tmp}/home
# env: HEADWATER_HOME={tmp}/home
from prefect import flow, task
from prefect.cache_policies import INPUTS

calls = []


@task(cache_policy=INPUTS, persist_result=True)
def slow(x):
    calls.append(x)
    return x * 2


@flow
def f():
    a = slow(1, return_state=True)
    b = slow(1, return_state=True)
    c = slow(2, return_state=True)
    return a.name, b.name, c.name, b.result()


print(f(), calls)
