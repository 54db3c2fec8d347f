# behaviour: PREFECT_RESULTS_PERSIST_BY_DEFAULT=true persists results, so INPUTS caching works
# env: PREFECT_RESULTS_PERSIST_BY_DEFAULT=true
from prefect import flow, task
from prefect.cache_policies import INPUTS

calls = []


@task(cache_policy=INPUTS)
def t(x):
    calls.append(x)
    return x


@flow
def f():
    return t(1, return_state=True).name, t(1, return_state=True).name


print(f(), calls)
