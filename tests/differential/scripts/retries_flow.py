# behaviour: a flow with retries re-runs its body until it succeeds
from prefect import flow

runs = []


@flow(retries=2)
def f():
    runs.append(1)
    if len(runs) < 2:
        raise ValueError("first run fails")
    return "second run"


print(f(), len(runs))
